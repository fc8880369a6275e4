"""HTTP routes: the JSON tracking endpoint, recovery links, unsubscribe."""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
)
from itsdangerous import BadData, SignatureExpired
from werkzeug.exceptions import HTTPException

from . import tracking
from .errors import InvalidPayload
from .models import Journey, JourneyStatus, utcnow
from .state import get_state
from .tokens import read_recovery_token, read_unsubscribe_token

logger = logging.getLogger(__name__)

blueprint = Blueprint(
    "abandon",
    __name__,
    template_folder="templates",
    static_folder="static",
)

#: Fields the JSON endpoint passes on to :meth:`Abandon.track`.
TRACKED_FIELDS = (
    "items", "selection", "search", "form", "fields", "viewed",
    "email", "name", "consent", "locale", "currency", "step",
)


@blueprint.post("/track")
def track() -> t.Any:
    """Track a journey from a page the shop does not render in Python.

    Takes a JSON object: ``kind`` plus any of :data:`TRACKED_FIELDS`. The JSON
    content type it demands cannot be sent cross-site without a CORS
    preflight, which keeps other sites from writing into a visitor's journey.
    """
    state = get_state(current_app)
    request.max_content_length = state.settings.max_body

    if not request.is_json:
        return _json_error("send the journey as JSON (Content-Type: application/json)",
                           415)

    payload = request.get_json(silent=True)

    if not isinstance(payload, dict):
        return _json_error("the body must be a JSON object", 400)

    unknown = set(payload) - {"kind", *TRACKED_FIELDS}

    if unknown:
        return _json_error(f"unknown fields {sorted(unknown)}", 400)

    fields = {name: payload.get(name) for name in TRACKED_FIELDS}
    state.extension.track(str(payload.get("kind", "")), **fields)
    return "", 204


@blueprint.errorhandler(InvalidPayload)
def invalid_payload(error: InvalidPayload) -> t.Any:
    return _json_error(str(error), 400, field=error.field)


@blueprint.errorhandler(413)
def too_large(error: HTTPException) -> t.Any:
    limit = get_state(current_app).settings.max_body
    return _json_error(f"the body is larger than {limit} bytes", 413)


def _json_error(message: str, status: int, **extra: t.Any) -> t.Any:
    return jsonify(error=message, **extra), status


@blueprint.get("/r/<token>")
def recover(token: str) -> t.Any:
    """Open a recovery link: put the journey back and send the visitor on.

    Works in any browser, logged in or not; it shows and restores only the
    journey the link was signed for, and never logs anybody in.
    """
    state = get_state(current_app)

    try:
        journey_key, reminder_id, action = read_recovery_token(
            current_app, token, state.settings.link_max_age
        )
    except SignatureExpired:
        return _page("abandon/link_invalid.html", 410, expired=True)
    except (BadData, ValueError, TypeError):
        return _page("abandon/link_invalid.html", 400, expired=False)

    session = state.session
    journey = session.scalars(sa.select(Journey).filter_by(key=journey_key)).first()

    if journey is None:
        return _page("abandon/unavailable.html", 404)

    if journey.status in JourneyStatus.COMPLETED:
        return _page("abandon/already_completed.html", 200, journey=journey)

    if journey.status == JourneyStatus.EXPIRED or journey.item_count == 0:
        return _page("abandon/unavailable.html", 410, journey=journey)

    tracking.record_click(session, journey, reminder_id, utcnow())
    state.extension.remember(journey)
    restore = state.extension.restorers.get((journey.kind, action))

    if restore is not None:
        target = restore(journey)
        return redirect(target) if isinstance(target, str) else target

    return _default_restore(journey, action)


def _default_restore(journey: Journey, action: str) -> t.Any:
    """Where a link leads when the host registered no restorer for it."""
    search_url = (journey.data.get("search") or {}).get("url")

    if action == "search" and search_url:
        return redirect(search_url)

    if journey.kind == "browse":
        views = list(reversed(journey.data.get("views", [])))
        return _page("abandon/viewed.html", 200, journey=journey, views=views)

    logger.error(
        "A %s recovery link was opened but no restorer is registered;"
        " add one with @abandon.restorer(%r)", journey.kind, journey.kind,
    )
    return _page("abandon/unavailable.html", 404, journey=journey)


@blueprint.route("/u/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> t.Any:
    """Unsubscribe page: GET asks, POST acts.

    Link scanners fetch every GET in an email, so only the POST unsubscribes;
    mail clients send that POST themselves for the one-click header.
    """
    try:
        email_key = read_unsubscribe_token(current_app, token)
    except (BadData, ValueError, TypeError):
        return _page("abandon/link_invalid.html", 400, expired=False)

    if request.method == "GET":
        return _page("abandon/unsubscribe.html", 200, done=False)

    tracking.unsubscribe(get_state(current_app).session, email_key)
    return _page("abandon/unsubscribe.html", 200, done=True)


def _page(template: str, status: int, **context: t.Any) -> t.Any:
    layout = current_app.config["ABANDON_PAGE_TEMPLATE"]
    shop_name = current_app.config["ABANDON_SHOP_NAME"] or current_app.name
    html = render_template(template, layout=layout, shop_name=shop_name, **context)
    return html, status

"""A sign-up form in three steps, for the tea club.

Every step is tracked as a form journey; what the visitor typed lives in
their session, and flask-abandon keeps only the names of filled fields plus
the values ``ABANDON_FORM_SAFE_FIELDS`` allows (never the password).
"""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.security import generate_password_hash

from flask_abandon import InvalidPayload

from .extensions import abandon, db
from .models import Member
from .shop import check_email

logger = logging.getLogger(__name__)

bp = Blueprint("signup", __name__, url_prefix="/signup")

#: Each step and the fields it asks for, in order.
STEPS = {
    "account": ("email", "password"),
    "profile": ("name", "company"),
    "preferences": ("favourite_tea", "consent"),
}
#: The longest name, company or favourite tea the club keeps.
MAX_TEXT = 120
MIN_PASSWORD = 8


@bp.route("/<step>", methods=["GET", "POST"])
def step(step: str) -> t.Any:
    if step == "done":
        return render_template("signup/done.html", name=session.get("name"))

    if step not in STEPS:
        abort(404, description=f"There is no sign-up step {step!r}.")

    draft = session.get("signup", {})
    fields = fields_of(step, draft)
    error = None

    if request.method == "POST":
        posted = {name: request.form.get(name, "").strip() for name in fields}
        error = check_step(step, posted)

        if error is None:
            return advance(step, posted)

    return render_template("signup/step.html", step=step, fields=fields,
                           values=draft, error=error, steps=list(STEPS)), (
        400 if error else 200
    )


def fields_of(step: str, draft: dict[str, t.Any]) -> tuple[str, ...]:
    """The step's fields; the last step asks for the password again when the
    draft has none, as after a recovery link: it is never kept anywhere."""
    if step == list(STEPS)[-1] and "password_hash" not in draft:
        return (*STEPS[step], "password")

    return STEPS[step]


def check_step(step: str, posted: dict[str, str]) -> str | None:
    """What is wrong with a step's answers, or ``None``."""
    if "email" in posted:
        email, error = check_email(posted["email"])

        if error is not None:
            return error

        posted["email"] = email

        if db.session.scalar(sa.select(Member.id).filter_by(email=email)):
            return "This address is in the club already."

    if "password" in posted and len(posted["password"]) < MIN_PASSWORD:
        return f"Choose a password of at least {MIN_PASSWORD} characters."

    if step == "profile" and not posted["name"]:
        return "Please tell us your name."

    for name in ("name", "company", "favourite_tea"):
        if len(posted.get(name, "")) > MAX_TEXT:
            return f"Please shorten the {name.replace('_', ' ')} to {MAX_TEXT} letters."

    return None


def advance(step: str, posted: dict[str, str]) -> t.Any:
    """Keep the step in the draft, track it, then go on or finish."""
    draft = {**session.get("signup", {}), **posted}

    # The session is a signed cookie anyone holding it can read: only a
    # hash of the password goes in it.
    password = draft.pop("password", None)

    if password:
        draft["password_hash"] = generate_password_hash(password)

    session["signup"] = draft

    if "email" in posted:
        session["email"] = posted["email"]

    if step == "preferences":
        session["consent"] = posted["consent"] == "yes"

    if draft.get("name"):
        session["name"] = draft["name"]

    track(step, posted, draft)
    steps = list(STEPS)

    if step != steps[-1]:
        return redirect(url_for("signup.step", step=steps[steps.index(step) + 1]))

    if "email" not in draft:
        return redirect(url_for("signup.step", step=steps[0]))

    if db.session.scalar(sa.select(Member.id).filter_by(email=draft["email"])):
        abort(400, description="This address is in the club already.")

    db.session.add(Member(
        email=draft["email"], name=draft.get("name") or draft["email"],
        password_hash=draft["password_hash"], company=draft.get("company", ""),
        favourite_tea=draft.get("favourite_tea") or None,
        consent=session["consent"],
    ))
    db.session.commit()
    abandon.complete("form")
    session.pop("signup", None)
    return redirect(url_for("signup.step", step="done"))


def track(step: str, posted: dict[str, str], draft: dict[str, t.Any]) -> None:
    """Tell flask-abandon which fields this step filled; a refusal is logged,
    not raised."""
    try:
        abandon.track(
            "form",
            form="signup",
            step=step,
            fields=posted,
            email=draft.get("email"),
            name=draft.get("name") or None,
            consent=session.get("consent") if step == "preferences" else None,
        )
    except InvalidPayload as error:
        logger.warning("Sign-up not tracked: %s", error)


@abandon.restorer("form")
def restore_signup(journey: t.Any) -> str:
    """Back to the step last filled, with the values flask-abandon kept; the
    password is asked for again before the end."""
    draft = {name: str(value) for name, value in journey.data.get("values", {}).items()}

    if journey.contact is not None:
        draft["email"] = journey.contact.email

    session["signup"] = draft
    step = journey.step if journey.step in STEPS else list(STEPS)[0]
    return url_for("signup.step", step=step)

"""The shop owner's admin: journey lists, the dashboard, and the wiring.

Built on Flask-Admin. The views join the host's own :class:`~flask_admin.Admin`
through :meth:`Abandon.init_admin <flask_abandon.Abandon.init_admin>`, or a
small admin of our own is mounted at ``ABANDON_ADMIN_URL``. Either way the
endpoints start with ``abandon_admin`` and every view stays closed until
``ABANDON_ADMIN_ACCESS`` says who may see it.
"""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from flask import Flask, Response, current_app, flash, redirect, request
from flask_admin import Admin, BaseView, expose
from flask_admin.actions import action
from flask_admin.theme import Bootstrap4Theme
from sqlalchemy.orm import selectinload

from . import resend
from .admin_lists import ContactView, ReminderView, SecuredModelView, contact_cell
from .config import KNOWN_KINDS
from .dashboard import DashboardView
from .display import (
    ENDPOINT,
    items_summary,
    journeys_csv,
    money,
    reminder_counts,
    shop_timezone,
    shown_status,
    timeline,
)
from .errors import ConfigError
from .filters import HasValueFilter, LocalDateBetween, RecoveredFilter, StatusFilter
from .models import Contact, Journey, Reminder, ReminderStatus

if t.TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

logger = logging.getLogger(__name__)


class JourneyView(SecuredModelView):
    """Journeys of one kind: ``JourneyView(db, kind="cart")``.

    Listed newest activity first, abandoned ones by default; filters and the
    default sort ride on ``ix_abandon_journey_sweep``.
    """

    list_template = "abandon/admin/journey_list.html"
    details_template = "abandon/admin/journey_details.html"
    can_delete = True
    column_list = ["contact", "items", "value", "last_activity_at", "reminders",
                   "status"]
    column_details_list = ["id", "ref", "status", "contact", "items", "value",
                           "revenue", "step", "payment", "created_at",
                           "first_held_at", "last_activity_at", "abandoned_at",
                           "clicked_at", "completed_at"]
    column_sortable_list = ["last_activity_at"]
    column_default_sort = ("last_activity_at", True)
    column_searchable_list = ["ref"]
    column_labels = {"last_activity_at": "Last activity", "ref": "Reference",
                     "items": "Items", "reminders": "Reminders sent / planned"}
    #: Rows one CSV export holds at most. It is built in memory, so a bigger
    #: export is cut here silently: filter by dates to export in parts.
    export_max_rows = 10_000

    def __init__(self, db: t.Any, kind: str = "cart", **kwargs: t.Any) -> None:
        self.kind = kind
        self.column_filters = [
            StatusFilter(),
            LocalDateBetween(Journey.last_activity_at, "Last activity"),
            LocalDateBetween(Journey.created_at, "Started"),
            HasValueFilter(Journey.contact_id, "Has email"),
            RecoveredFilter(Journey.status, "Recovered"),
        ]
        self.column_formatters = {
            "contact": lambda v, c, m, n: contact_cell(m.contact),
            "items": lambda v, c, m, n: items_summary(m),
            "value": lambda v, c, m, n: money(m.value, m.currency),
            "revenue": lambda v, c, m, n: money(m.revenue, m.currency),
            "reminders": lambda v, c, m, n: self.reminder_cell(m),
            "status": lambda v, c, m, n: shown_status(m),
            **{name: self.time_column for name in self.column_details_list
               if name.endswith("_at")},
        }
        kwargs.setdefault("name", f"{kind.title()}s")
        kwargs.setdefault("endpoint", f"{ENDPOINT}_{kind}s")
        super().__init__(Journey, db, **kwargs)

    def get_query(self) -> t.Any:
        return (
            super().get_query()
            .filter(Journey.kind == self.kind, Journey.is_bot.is_(False))
            .options(selectinload(Journey.contact))
        )

    def get_count_query(self) -> t.Any:
        return super().get_count_query().filter(
            Journey.kind == self.kind, Journey.is_bot.is_(False)
        )

    def get_one(self, id: t.Any) -> Journey | None:
        journey = self.db_session.get(Journey, int(id))
        return journey if journey is not None and journey.kind == self.kind else None

    def _apply_search(
        self, query: t.Any, count_query: t.Any, joins: t.Any, count_joins: t.Any,
        search: str,
    ) -> t.Any:
        # Exact matches only, an address or a reference, never both: each is
        # one index lookup, where an OR of the two made PostgreSQL scan.
        term = search.strip()

        condition: sa.ColumnElement[bool]

        if "@" in term:
            condition = Journey.contact_id.in_(
                sa.select(Contact.id).where(Contact.email_key == term.lower())
            )
        else:
            condition = Journey.ref == term

        if count_query is not None:
            count_query = count_query.filter(condition)

        return query.filter(condition), count_query, joins, count_joins

    def get_list(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        count, rows = super().get_list(*args, **kwargs)

        if isinstance(rows, list):
            reminder_counts(self.db_session, [row.id for row in rows])

        return count, rows

    def reminder_cell(self, journey: Journey) -> str:
        counts = reminder_counts(self.db_session, [journey.id])[journey.id]
        return (f"{counts.get(ReminderStatus.SENT, 0)} sent /"
                f" {counts.get(ReminderStatus.PLANNED, 0)} planned")

    def timeline(self, journey: Journey) -> list[tuple[str, str, str]]:
        return timeline(journey)

    @expose("/")
    def index_view(self) -> t.Any:
        # A first visit shows abandoned journeys; "any status" shows all.
        if not request.args:
            return redirect(self.get_url(".index_view", **StatusFilter.args(self)))

        self._template_args["export_url"] = self.get_url(
            ".export_csv", **request.args.to_dict()
        )
        self._template_args["export_form"] = self.action_form()
        return super().index_view()

    @expose("/export.csv", methods=("POST",))
    def export_csv(self) -> t.Any:
        """The filtered list as CSV; a POST with a CSRF token, like actions."""
        if not self.action_form().validate():
            flash("The export form had expired; please try again.", "error")
            return redirect(self.get_url(".index_view", **request.args.to_dict()))

        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        _, rows = self.get_list(
            0, sort[0] if sort else None, bool(args.sort_desc), args.search,
            args.filters, page_size=self.export_max_rows,
        )
        response = Response(journeys_csv(self.db_session, rows), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{self.kind}s.csv"'
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @action("resend", "Resend reminder now",
            "Send a reminder now to each selected shopper?")
    def action_resend(self, ids: list[str]) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        outcome = resend.resend(app, [int(i) for i in ids])

        if outcome.sent:
            flash(f"Reminder sent for {len(outcome.sent)} {self.kind}(s).", "success")

        for journey, reason in outcome.refused:
            flash(f"Not sent for {self.kind} {journey.id} "
                  f"({journey.contact.email if journey.contact else 'no email'}):"
                  f" {reason}.", "warning")

        for journey, reason in outcome.failed:
            flash(f"Sending failed for {self.kind} {journey.id}: {reason}", "error")

    @action("cancel", "Cancel planned reminders",
            "Cancel the planned reminders of the selected journeys?")
    def action_cancel(self, ids: list[str]) -> None:
        condition = Reminder.journey_id.in_([int(i) for i in ids])
        flash(f"{resend.cancel(self.db_session, condition)} planned reminder(s)"
              " cancelled.", "success")


LIST_NAMES = {"cart": "Carts", "booking": "Bookings", "form": "Forms",
              "browse": "Browsing sessions"}


def make_views(db: SQLAlchemy, kinds: t.Iterable[str], category: str | None = None,
               prefix: str = "") -> list[BaseView]:
    """Our model views, their URLs relative to the admin's: one list per
    kind of journey the shop tracks, then reminders and contacts."""
    common = {"category": category}
    return [
        *(JourneyView(db, kind=kind, name=LIST_NAMES[kind],
                      url=f"{prefix}{LIST_NAMES[kind].split()[0].lower()}",
                      **common)
          for kind in kinds),
        ReminderView(db, url=f"{prefix}reminders", **common),
        ContactView(db, url=f"{prefix}contacts", **common),
    ]


def attach(admin: Admin, db: SQLAlchemy) -> None:
    """Add our views to the host's admin, in an "Abandonment" menu."""
    if admin.app is not None and ENDPOINT in admin.app.blueprints:
        raise RuntimeError(
            "flask-abandon already mounted its own admin at ABANDON_ADMIN_URL;"
            " set ABANDON_ADMIN_URL = None to add its views to your Admin."
        )

    category = "Abandonment"
    admin.add_view(DashboardView(name="Dashboard", endpoint=ENDPOINT,
                                 url="abandon", category=category))
    kinds = admin.app.config["ABANDON_KINDS"] if admin.app else KNOWN_KINDS
    admin.add_views(*make_views(db, kinds, category, prefix="abandon/"))

    if admin.app is not None:
        _babel_for_admin(admin.app)


def mount(app: Flask, db: SQLAlchemy) -> Admin | None:
    """Check the admin's settings; mount our own admin at ``ABANDON_ADMIN_URL``
    unless it is ``None``."""
    shop_timezone(app.config)
    access = app.config["ABANDON_ADMIN_ACCESS"]

    if access is not None and not callable(access):
        raise ConfigError(
            "ABANDON_ADMIN_ACCESS must be a function returning True for who may"
            f" see the admin, got {access!r}."
        )

    url = app.config["ABANDON_ADMIN_URL"]

    if not url:
        return None

    _babel_for_admin(app)
    admin = Admin(
        app, name="Recovery", url=url, endpoint=ENDPOINT, theme=Bootstrap4Theme(),
        # As the index, the dashboard serves Flask-Admin's own static files.
        index_view=DashboardView(name="Dashboard", endpoint=ENDPOINT, url=url,
                                 static_folder="static"),
    )
    admin.add_views(*make_views(db, app.config["ABANDON_KINDS"]))
    return admin


def _babel_for_admin(app: Flask) -> None:
    """Flask-Admin translates through Flask-Babel whenever it is installed,
    and fails on apps that never set it up; set it up with its defaults then.
    A host that sets up Flask-Babel itself, before or after, keeps its own."""
    if "babel" in app.extensions:
        return

    try:
        from flask_babel import Babel
    except ImportError:
        return

    Babel(app)

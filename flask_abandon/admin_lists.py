"""The admin's building blocks and its reminder and contact lists.

Every list is read-only and closed by default; actions are POSTs carrying a
CSRF token. Journey lists and the wiring live in :mod:`flask_abandon.admin`.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual
from flask_admin.form import SecureForm
from markupsafe import Markup
from sqlalchemy.orm import selectinload
from wtforms import EmailField
from wtforms.validators import Email, InputRequired

from . import resend
from .access import Guarded, form_base
from .display import ENDPOINT, detail_url, local_time
from .filters import HasValueFilter, LocalDateBetween
from .mail import SendFailed
from .models import Contact, Journey, Reminder


class SecuredModelView(Guarded, ModelView):
    """Read-only lists whose every POST carries a CSRF token."""

    form_base_class = SecureForm
    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_view_details = True
    # Counting a million rows on every page view is what makes admins slow.
    simple_list_pager = True
    named_filter_urls = True
    # Related rows are loaded by each view's get_query, one query a page.
    column_auto_select_related = False
    page_size = 50

    def _handle_view(self, name: str, **kwargs: t.Any) -> t.Any:
        # Chosen on each request, so the order in which the host set up
        # CSRFProtect and this extension does not matter.
        base = form_base(current_app)

        if self.form_base_class is not base:
            self.form_base_class = base
            self._refresh_forms_cache()

        return super()._handle_view(name, **kwargs)

    def make_form(self, **fields: t.Any) -> type[t.Any]:
        return type("AdminForm", (self.form_base_class,), fields)

    @property
    def db_session(self) -> t.Any:
        return self.session.session

    def time_column(self, view: t.Any, context: t.Any, model: t.Any, name: str) -> str:
        return local_time(getattr(model, name))

    def search_placeholder(self) -> str:
        return "Exact email or reference"


def contact_cell(contact: Contact | None) -> Markup | str:
    if contact is None:
        return "(no email)"

    url = detail_url("contacts", contact.id)
    name = Markup("<br><small>{}</small>").format(contact.name) if contact.name else ""
    return Markup('<a href="{}">{}</a>{}').format(url, contact.email, name)


class ReminderView(SecuredModelView):
    """Every reminder, planned or done, with why it was skipped or failed."""

    list_template = "abandon/admin/reminder_list.html"
    column_list = ["journey", "template", "status", "send_at", "sent_at", "manual",
                   "attempts"]
    column_details_list = ["id", "journey", "template", "status", "reason",
                           "manual", "send_at", "sent_at", "to_email", "attempts",
                           "created_at"]
    column_sortable_list = ["send_at", "sent_at"]
    column_default_sort = ("id", True)
    column_labels = {"send_at": "Scheduled", "sent_at": "Sent",
                     "manual": "Sent how", "to_email": "Sent to"}

    def __init__(self, db: t.Any, **kwargs: t.Any) -> None:
        self.column_filters = [
            FilterEqual(Reminder.status, "Status", options=[
                (s, s) for s in ("planned", "sending", "sent", "skipped", "failed",
                                 "cancelled")
            ]),
            BooleanEqualFilter(Reminder.manual, "Manual"),
            LocalDateBetween(Reminder.send_at, "Scheduled"),
        ]
        self.column_formatters = {
            "journey": lambda v, c, m, n: journey_cell(m.journey),
            "status": lambda v, c, m, n: (
                f"{m.status}: {m.reason}" if m.reason else m.status),
            "manual": lambda v, c, m, n: "manual" if m.manual else "automatic",
            "send_at": self.time_column,
            "sent_at": self.time_column,
            "created_at": self.time_column,
        }
        kwargs.setdefault("name", "Reminders")
        kwargs.setdefault("endpoint", f"{ENDPOINT}_reminders")
        super().__init__(Reminder, db, **kwargs)

    def get_query(self) -> t.Any:
        return super().get_query().options(
            selectinload(Reminder.journey).selectinload(Journey.contact)
        )

    @action("cancel", "Cancel", "Cancel the selected planned reminders?")
    def action_cancel(self, ids: list[str]) -> None:
        condition = Reminder.id.in_([int(i) for i in ids])
        flash(f"{resend.cancel(self.db_session, condition)} planned reminder(s)"
              " cancelled.", "success")

    @expose("/test/<int:id>", methods=("GET", "POST"))
    def test_view(self, id: int) -> t.Any:
        """Send a reminder, rendered from its real journey, to any address."""
        reminder = self.db_session.get(Reminder, id) or abort(404)
        form = self.make_form(address=EmailField(
            "Send to", validators=[InputRequired(), Email()]
        ))(request.form)

        if request.method == "POST" and form.validate():
            app = current_app._get_current_object()  # type: ignore[attr-defined]

            try:
                resend.send_test(app, reminder, form.address.data)
            except (ValueError, SendFailed) as error:
                flash(f"The test was not sent: {error}", "error")
            else:
                flash(f"Test sent to {form.address.data}.", "success")
                return redirect(self.get_url(".index_view"))

        return self.render("abandon/admin/test_send.html", reminder=reminder,
                           form=form, journey_cell=journey_cell)


def journey_cell(journey: Journey) -> Markup:
    contact = journey.contact.email if journey.contact else "no email"
    return Markup('<a href="{}">{} {}</a> <small>{}</small>').format(
        detail_url(f"{journey.kind}s", journey.id), journey.kind, journey.id, contact
    )


class ContactView(SecuredModelView):
    """People reminders can go to: consent, unsubscribes, their journeys."""

    details_template = "abandon/admin/contact_details.html"
    column_list = ["email", "name", "marketing_consent", "unsubscribed_at",
                   "created_at"]
    column_details_list = ["id", "email", "name", "locale", "marketing_consent",
                           "unsubscribed_at", "created_at"]
    column_sortable_list = ["created_at"]
    column_default_sort = ("id", True)
    column_searchable_list = ["email"]
    column_labels = {"marketing_consent": "Consent", "unsubscribed_at": "Unsubscribed"}

    def __init__(self, db: t.Any, **kwargs: t.Any) -> None:
        self.column_filters = [
            BooleanEqualFilter(Contact.marketing_consent, "Consent"),
            HasValueFilter(Contact.unsubscribed_at, "Unsubscribed"),
        ]
        self.column_formatters = {
            "unsubscribed_at": self.time_column,
            "created_at": self.time_column,
        }
        kwargs.setdefault("name", "Contacts")
        kwargs.setdefault("endpoint", f"{ENDPOINT}_contacts")
        super().__init__(Contact, db, **kwargs)

    def _apply_search(
        self, query: t.Any, count_query: t.Any, joins: t.Any, count_joins: t.Any,
        search: str,
    ) -> t.Any:
        condition = Contact.email_key == search.strip().lower()

        if count_query is not None:
            count_query = count_query.filter(condition)

        return query.filter(condition), count_query, joins, count_joins

    def journeys(self, contact: Contact) -> list[tuple[Journey, Markup]]:
        rows = self.db_session.scalars(
            sa.select(Journey).where(Journey.contact_id == contact.id)
            .order_by(Journey.id.desc()).limit(100)
        ).all()
        return [(journey, journey_cell(journey)) for journey in rows]


#: The menu entry of each kind's list; its first word, lower-cased, is the URL.

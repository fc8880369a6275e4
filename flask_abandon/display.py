"""How the admin shows journeys: shop-local times, money, items, timelines,
and the CSV export.

Everything a shopper typed reaches the page as plain text for Jinja to
escape, or inside :class:`~markupsafe.Markup` built with ``format``, which
escapes its arguments.
"""

from __future__ import annotations

import csv
import functools
import io
import typing as t
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app, g, url_for
from werkzeug.routing import BuildError

from .errors import ConfigError
from .models import Journey, JourneyStatus, Reminder
from .money import format_money

#: Every admin endpoint of ours starts with this; the dashboard's is exactly it.
ENDPOINT = "abandon_admin"
#: Cells a spreadsheet would run as a formula; they get a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def shop_timezone(config: t.Mapping[str, t.Any] | None = None) -> ZoneInfo:
    """The shop's ``ABANDON_TIMEZONE``, for display only.

    :raises ConfigError: for a name the time zone database does not know.
    """
    name = (config or current_app.config).get("ABANDON_TIMEZONE", "UTC")
    return _zone(name)


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(
            f"ABANDON_TIMEZONE must name a time zone such as 'Europe/Berlin',"
            f" got {name!r}."
        ) from None


def local_time(value: datetime | None, format: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""

    return value.astimezone(shop_timezone()).strftime(format)


def money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None:
        return ""

    locale = current_app.config["ABANDON_DEFAULT_LOCALE"]
    return format_money(amount, currency or None, locale)


def items_summary(journey: Journey, limit: int = 80) -> str:
    """What the journey holds in a line, cut short for a list cell:
    ``"2 × Green tea, 1 × Tea pot"`` for a cart."""
    text = _SUMMARIES[journey.kind](journey.data)

    if not text:
        text = f"{journey.item_count} item(s)" if journey.item_count else "empty"

    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cart_summary(data: dict[str, t.Any]) -> str:
    return ", ".join(f"{item.get('quantity', 1)} × {item.get('name', '?')}"
                     for item in data.get("items") or ())


def _booking_summary(data: dict[str, t.Any]) -> str:
    selection = data.get("selection")

    if not selection:
        return ""

    dates = " to ".join(d for d in (selection["check_in"], selection["check_out"])
                        if d)
    return f"{selection['what']}, {dates}, {selection['party']} guests"


def _form_summary(data: dict[str, t.Any]) -> str:
    filled = data.get("filled") or []
    return f"{data.get('form', 'form')}: {', '.join(filled)}" if filled else ""


def _browse_summary(data: dict[str, t.Any]) -> str:
    return "viewed " + ", ".join(v["name"] for v in reversed(data.get("views", [])))


_SUMMARIES: dict[str, t.Callable[[dict[str, t.Any]], str]] = {
    "cart": _cart_summary,
    "booking": _booking_summary,
    "form": _form_summary,
    "browse": _browse_summary,
}


def shown_status(journey: Journey) -> str:
    """The status, or "unsubscribed" for an open journey nobody may mail."""
    contact = journey.contact

    if (contact is not None and contact.unsubscribed
            and journey.status not in JourneyStatus.COMPLETED):
        return "unsubscribed"

    return journey.status


def detail_url(plural: str, id: int) -> str:
    """The admin page of a journey or contact; ``"#"`` when there is none."""
    try:
        return url_for(f"{ENDPOINT}_{plural}.details_view", id=id)
    except BuildError:
        return "#"


def reminder_counts(session: t.Any, ids: t.Sequence[int]) -> dict[int, dict[str, int]]:
    """Reminders per status of each journey; one query per page, kept in ``g``."""
    known: dict[int, dict[str, int]] = g.setdefault("_abandon_reminder_counts", {})
    missing = [id for id in ids if id not in known]

    if missing:
        known.update({id: {} for id in missing})
        rows = session.execute(
            sa.select(Reminder.journey_id, Reminder.status, sa.func.count())
            .where(Reminder.journey_id.in_(missing))
            .group_by(Reminder.journey_id, Reminder.status)
        )

        for journey_id, status, count in rows:
            known[journey_id][status] = count

    return known


def timeline(journey: Journey) -> list[tuple[str, str, str]]:
    """What happened to a journey, oldest first: ``(when, what, detail)``."""
    entries: list[tuple[datetime, str, str]] = [(journey.created_at, "started", "")]

    if journey.first_held_at is not None:
        entries.append((journey.first_held_at, "first item added", ""))

    for event in journey.events:
        # A sent reminder shows as its reminder below.
        if event.type == "reminder_sent":
            continue

        detail = ", ".join(f"{k}: {v}" for k, v in (event.detail or {}).items())

        if event.type == "completed":
            detail = f"purchase: {money(journey.revenue, journey.currency)}"

        entries.append((event.at, event.type.replace("_", " "), detail))

    for reminder in journey.reminders:
        how = "manual" if reminder.manual else f"step {(reminder.step or 0) + 1}"
        detail = reminder.status + (f": {reminder.reason}" if reminder.reason else "")

        if reminder.to_email:
            detail += f" to {reminder.to_email}"

        entries.append((reminder.sent_at or reminder.send_at,
                        f"reminder {reminder.template} ({how})", detail))

    entries.sort(key=lambda entry: entry[0])
    return [(local_time(when), what, detail) for when, what, detail in entries]


def csv_cell(value: t.Any) -> str:
    """A cell no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def journeys_csv(session: t.Any, journeys: t.Sequence[Journey]) -> str:
    counts = reminder_counts(session, [journey.id for journey in journeys])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "reference", "email", "name", "status", "items", "value",
                     "currency", "started", "last activity", "reminders sent",
                     "reminders planned"])

    for journey in journeys:
        contact = journey.contact
        done = counts.get(journey.id, {})
        writer.writerow([csv_cell(value) for value in (
            journey.id, journey.ref, contact.email if contact else "",
            contact.name if contact else "", shown_status(journey),
            items_summary(journey, limit=1000), journey.value, journey.currency,
            local_time(journey.created_at), local_time(journey.last_activity_at),
            done.get("sent", 0), done.get("planned", 0),
        )])

    return out.getvalue()

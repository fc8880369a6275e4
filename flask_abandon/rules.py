"""The rules for sending: who may take a reminder, and whether it may still
go out when its time comes.

Free of Flask globals and of Redis: callers pass the database session, the
settings and the time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .config import Settings
from .kinds import PRIORITY
from .models import Journey, JourneyStatus, Reminder, ReminderStatus

#: How early a worker may send, to absorb clock skew between machines.
EARLY_TOLERANCE = timedelta(seconds=5)


def claim(session: Session, reminder_id: int, now: datetime) -> bool:
    """Take the reminder for this worker alone; ``False`` if it is not ours.

    The conditional update is what makes a reminder go out at most once,
    whatever duplicate jobs, retries or rival workers do.
    """
    claimed = session.execute(
        sa.update(Reminder)
        .where(
            Reminder.id == reminder_id,
            Reminder.status == ReminderStatus.PLANNED,
            Reminder.send_at <= now + EARLY_TOLERANCE,
        )
        .values(status=ReminderStatus.SENDING)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    return bool(claimed)


def stop_reason(
    session: Session, settings: Settings, reminder: Reminder, now: datetime
) -> str | None:
    """Why this claimed reminder must not be sent, or ``None`` to send it.

    Read from the database at send time, so a payment, an emptied cart or an
    unsubscribe a second earlier is honoured.
    """
    journey = reminder.journey
    contact = journey.contact

    if journey.status in JourneyStatus.COMPLETED:
        return "completed"

    if journey.status == JourneyStatus.EXPIRED:
        return "expired"

    if journey.item_count == 0:
        return "emptied"

    if contact is None:
        return "no address"

    if contact.unsubscribed:
        return "unsubscribed"

    if not contact.marketing_consent and (journey.kind == "browse" or reminder.step):
        return "no marketing consent"

    if reminder.manual:
        return None

    reason = _contact_busy(session, settings, journey, now)

    if reason is not None:
        return reason

    if journey.last_activity_at < now - settings.max_age:
        return "too old"

    later_due = session.scalar(
        sa.select(sa.func.count(Reminder.id)).where(
            Reminder.journey_id == journey.id,
            Reminder.step > reminder.step,
            Reminder.status == ReminderStatus.PLANNED,
            Reminder.send_at <= now,
        )
    )

    if later_due:
        return "superseded by a later reminder"

    return None


def _contact_busy(
    session: Session, settings: Settings, journey: Journey, now: datetime
) -> str | None:
    """Why the contact should not hear about this journey today, if so.

    One email a day across journeys (``ABANDON_CONTACT_COOLDOWN``), the more
    important kind first (:data:`~flask_abandon.kinds.PRIORITY`), and at most
    one browse email per ``ABANDON_BROWSE_COOLDOWN``.
    """
    others = (
        sa.select(sa.func.count(Reminder.id))
        .join(Reminder.journey)
        .where(Journey.contact_id == journey.contact_id, Journey.id != journey.id)
    )
    recently = now - settings.contact_cooldown

    if session.scalar(others.where(Reminder.status == ReminderStatus.SENT,
                                   Reminder.sent_at >= recently)):
        return "contact already reminded today"

    rank = PRIORITY[journey.kind]
    ahead = [kind for kind, other_rank in PRIORITY.items() if other_rank < rank]

    if ahead and session.scalar(
        others.where(
            Journey.kind.in_(ahead),
            Reminder.status == ReminderStatus.PLANNED,
            Reminder.send_at <= now + settings.contact_cooldown,
        )
    ):
        return "a more important reminder is due"

    if journey.kind == "browse" and session.scalar(
        others.where(
            Journey.kind == "browse",
            Reminder.status == ReminderStatus.SENT,
            Reminder.sent_at >= now - settings.browse_cooldown,
        )
    ):
        return "browse email sent recently"

    return None


def postponed_until(
    settings: Settings, reminder: Reminder, now: datetime
) -> datetime | None:
    """When to send instead, if the visitor is back in the shop right now.

    The sequence does not restart when somebody returns; the next reminder
    just waits until they have been idle for the timeout again.
    """
    journey = reminder.journey
    idle_from = journey.last_activity_at + settings.timeout(journey.kind)

    if reminder.manual or idle_from <= now:
        return None

    return idle_from

"""The sweep: finding idle journeys, abandoning them, planning reminders.

Free of Flask globals and of Redis: callers pass the database session, the
settings and the time, and get back the reminders that need an RQ job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import signals
from .config import Settings
from .models import (
    Contact,
    Event,
    Journey,
    JourneyStatus,
    Reminder,
    ReminderStatus,
)
from .privacy import delete_journeys

logger = logging.getLogger(__name__)

#: How many journeys one sweep pass loads at a time.
SWEEP_BATCH = 500
#: A planned reminder this late is taken to have lost its RQ job.
OVERDUE_AFTER = timedelta(minutes=5)


@dataclass
class SweepResult:
    """What one sweep changed, and which reminders now need an RQ job."""

    abandoned: int = 0
    expired: int = 0
    deleted: int = 0
    overdue: int = 0
    to_enqueue: list[Reminder] = field(default_factory=list)


def sweep_journeys(
    session: Session, settings: Settings, now: datetime
) -> SweepResult:
    """Find idle journeys, abandon them, and plan their reminders.

    Journeys idle past the maximum age are expired without a reminder, so a
    backlog (a new install, a worker down for days) is never mass-mailed.
    """
    result = SweepResult()

    for kind in settings.kinds:
        result.expired += _expire(session, kind, now - settings.max_age)
        result.abandoned += _abandon_idle(session, settings, kind, now)

    if "form" in settings.kinds:
        result.deleted = _delete_form_drafts(session, now - settings.form_retention)

    result.to_enqueue, result.overdue = _unqueued_reminders(session, now)
    return result


def _expire(session: Session, kind: str, oldest: datetime) -> int:
    expired = session.execute(
        sa.update(Journey)
        .where(
            Journey.kind == kind,
            Journey.status.in_([JourneyStatus.ACTIVE, JourneyStatus.ABANDONED]),
            Journey.last_activity_at < oldest,
        )
        .values(status=JourneyStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    return int(expired)


def _delete_form_drafts(session: Session, oldest: datetime) -> int:
    """Delete unsubmitted forms older than the retention period, with what
    they held: drafts are kept only as long as they are useful."""
    drafts = sa.select(Journey.id).where(
        Journey.kind == "form",
        Journey.status.not_in(JourneyStatus.COMPLETED),
        Journey.created_at < oldest,
    )
    ids = list(session.scalars(drafts))
    delete_journeys(session, ids)
    session.commit()

    if ids:
        logger.info("Deleted %d form drafts older than the retention period",
                    len(ids))

    return len(ids)


def _abandon_idle(
    session: Session, settings: Settings, kind: str, now: datetime
) -> int:
    """Abandon the idle journeys of ``kind`` that somebody can be told about."""
    timeout = settings.timeout(kind)
    query = (
        sa.select(Journey)
        .join(Journey.contact)
        .where(
            Journey.kind == kind,
            Journey.status == JourneyStatus.ACTIVE,
            Journey.last_activity_at <= now - timeout,
            Journey.item_count > 0,
            Journey.is_bot.is_(False),
            Contact.unsubscribed_at.is_(None),
        )
        .order_by(Journey.id)
        .limit(SWEEP_BATCH)
    )
    abandoned = 0
    after_id = 0

    while batch := session.scalars(query.where(Journey.id > after_id)).all():
        after_id = batch[-1].id
        claimed = _claim_batch(session, [journey.id for journey in batch])
        journeys = [journey for journey in batch if journey.id in claimed]
        _plan_reminders(session, settings, journeys, now)
        session.commit()
        abandoned += len(journeys)

        for journey in journeys:
            signals.journey_abandoned.send(journey)

    return abandoned


def _claim_batch(session: Session, ids: list[int]) -> set[int]:
    """Mark still-active journeys abandoned; return the ids this sweep took.

    A rival sweep's rows are left alone: they are no longer active, and those
    this transaction took are the abandoned ones without an abandonment time
    yet. (Portable where ``UPDATE ... RETURNING`` is not.)
    """
    session.execute(
        sa.update(Journey)
        .where(Journey.id.in_(ids), Journey.status == JourneyStatus.ACTIVE)
        .values(status=JourneyStatus.ABANDONED)
        .execution_options(synchronize_session=False)
    )
    return set(
        session.scalars(
            sa.select(Journey.id).where(
                Journey.id.in_(ids),
                Journey.status == JourneyStatus.ABANDONED,
                Journey.abandoned_at.is_(None),
            )
        )
    )


def _plan_reminders(
    session: Session, settings: Settings, journeys: list[Journey], now: datetime
) -> None:
    """Record when each journey was abandoned and plan its sequence."""
    if not journeys:
        return

    abandoned_at = {
        journey.id: journey.last_activity_at + settings.timeout(journey.kind)
        for journey in journeys
    }
    session.execute(
        sa.update(Journey),
        [{"id": id_, "abandoned_at": at} for id_, at in abandoned_at.items()],
        execution_options={"synchronize_session": False},
    )
    session.execute(
        sa.insert(Reminder),
        [
            {"journey_id": journey.id, "step": index, "template": step.template,
             "send_at": abandoned_at[journey.id] + step.delay, "created_at": now}
            for journey in journeys
            for index, step in enumerate(settings.sequences[journey.kind])
        ],
    )
    session.execute(
        sa.insert(Event),
        [{"journey_id": journey.id, "type": "abandoned", "at": now}
         for journey in journeys],
    )


def _unqueued_reminders(
    session: Session, now: datetime
) -> tuple[list[Reminder], int]:
    """Planned reminders that have no RQ job: never enqueued, or lost.

    A reminder still planned well after its time most likely lost its job
    (Redis restarted, or no scheduler runs); enqueueing it again is safe
    because sending claims the row first.
    """
    never_enqueued = Reminder.enqueued_at.is_(None)
    overdue = Reminder.send_at < now - OVERDUE_AFTER
    reminders = session.scalars(
        sa.select(Reminder)
        .where(Reminder.status == ReminderStatus.PLANNED)
        .where(never_enqueued | overdue)
        .order_by(Reminder.send_at)
    ).all()
    overdue_count = sum(
        1 for r in reminders if r.enqueued_at and r.send_at < now - OVERDUE_AFTER
    )
    return list(reminders), overdue_count

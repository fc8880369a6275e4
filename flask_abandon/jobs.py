"""RQ jobs: the periodic sweep and the sending of one reminder.

Jobs take ids only, never models or apps. Each runs in a fresh app context of
the app this worker serves (see :func:`serve_app`), or, under a plain
``rq worker``, of the app that ``FLASK_APP`` names.
"""

from __future__ import annotations

import functools
import logging
import typing as t
from datetime import datetime, timezone

import redis
from flask import Flask, current_app, has_app_context
from flask.cli import ScriptInfo
from flask_mail import Connection
from rq import Queue
from rq.scheduler import RQScheduler

from . import rules, signals
from .mail import SendFailed, build_message, connect, send
from .models import Event, Reminder, ReminderStatus, utcnow
from .state import get_state
from .sweep import SweepResult, sweep_journeys

logger = logging.getLogger(__name__)


F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_worker_app: Flask | None = None


def serve_app(app: Flask) -> None:
    """Make ``app`` the one jobs run for in this worker process."""
    global _worker_app
    _worker_app = app


def _job_app() -> Flask:
    if has_app_context():
        return t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]

    if _worker_app is None:
        serve_app(ScriptInfo().load_app())

    assert _worker_app is not None
    return _worker_app


def in_app_context(job: F) -> F:
    """Run ``job`` in an app context of its own, so each job has a clean
    database session."""

    @functools.wraps(job)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with _job_app().app_context():
            return job(*args, **kwargs)

    return t.cast(F, wrapper)


def get_queue(app: Flask) -> Queue:
    """The RQ queue reminders and sweeps run on."""
    state = get_state(app)
    return Queue(app.config["ABANDON_QUEUE"], connection=state.redis)


#: How many jobs go to Redis in one round trip.
ENQUEUE_BATCH = 200


def enqueue_reminders(queue: Queue, reminders: list[Reminder], now: datetime) -> int:
    """Give each reminder an RQ job at its send time; return how many got one.

    The job id names the reminder and its send time, so enqueueing the same
    plan again replaces the job instead of adding one, while a retry or a
    postponement gets a job of its own. When Redis refuses, the rest stay
    planned without a job, and the next sweep enqueues them.
    """
    enqueued = 0

    for start in range(0, len(reminders), ENQUEUE_BATCH):
        batch = reminders[start:start + ENQUEUE_BATCH]

        try:
            with queue.connection.pipeline() as pipeline:
                for reminder in batch:
                    _enqueue(queue, reminder, now, pipeline)

                pipeline.execute()
        except redis.RedisError as error:
            logger.warning(
                "Redis is unreachable (%s); %d reminders stay planned and the"
                " next sweep will enqueue them", error, len(reminders) - enqueued,
            )
            break

        for reminder in batch:
            reminder.enqueued_at = now

        enqueued += len(batch)

    return enqueued


def _enqueue(
    queue: Queue, reminder: Reminder, now: datetime, pipeline: t.Any
) -> None:
    job_id = f"abandon-reminder-{reminder.id}-{int(reminder.send_at.timestamp())}"

    if reminder.send_at > now:
        queue.enqueue_at(reminder.send_at, send_reminder, reminder.id,
                         job_id=job_id, pipeline=pipeline)
    else:
        queue.enqueue(send_reminder, reminder.id, job_id=job_id, pipeline=pipeline)


def schedule_next_sweep(app: Flask, now: datetime | None = None) -> None:
    """Schedule the periodic sweep at the start of the next interval.

    The job id names that interval, so two workers scheduling sweeps at once
    schedule the same job, and their chains merge into one.
    """
    interval = get_state(app).settings.sweep_interval.total_seconds() or 60
    slot = int((now or utcnow()).timestamp() // interval) + 1
    get_queue(app).enqueue_at(
        datetime.fromtimestamp(slot * interval, timezone.utc),
        sweep,
        job_id=f"abandon-sweep-{slot}",
    )


def run_sweep(app: Flask, now: datetime | None = None) -> SweepResult:
    """Abandon idle journeys, plan reminders and give each an RQ job."""
    state = get_state(app)
    session = state.session
    now = now or utcnow()
    result = sweep_journeys(session, state.settings, now)
    queue = get_queue(app)
    enqueued = enqueue_reminders(queue, result.to_enqueue, now)
    session.commit()

    if result.overdue and not _scheduler_running(queue):
        logger.warning(
            "No RQ scheduler is running; %d reminders are overdue. Start one"
            " with 'flask abandon worker'.", result.overdue,
        )

    logger.info(
        "Sweep: %d abandoned, %d expired, %d reminders enqueued of %d waiting",
        result.abandoned, result.expired, enqueued, len(result.to_enqueue),
    )
    return result


def _scheduler_running(queue: Queue) -> bool:
    key = RQScheduler.get_locking_key(queue.name)
    return bool(queue.connection.exists(key))


@in_app_context
def sweep() -> None:
    """The periodic sweep job; it schedules its own next run, even on error."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    try:
        run_sweep(app)
    finally:
        schedule_next_sweep(app)


@in_app_context
def send_reminder(reminder_id: int, now: datetime | None = None) -> str:
    """Send one reminder if it is still due and wanted; return what happened.

    The row is claimed before the mail server is contacted, so the reminder
    goes out at most once. Whatever stops it (a payment, an emptied cart, an
    unsubscribe) is read from the database after the claim.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    session = state.session
    now = now or utcnow()

    if not rules.claim(session, reminder_id, now):
        logger.debug("reminder %s is not planned or not due; nothing to do",
                     reminder_id)
        return "not claimed"

    reminder = session.get_one(Reminder, reminder_id)
    later = rules.postponed_until(state.settings, reminder, now)

    if later is not None:
        reminder.status = ReminderStatus.PLANNED
        reminder.send_at = later
        enqueue_reminders(get_queue(app), [reminder], now)
        session.commit()
        return "postponed"

    reason = rules.stop_reason(session, state.settings, reminder, now)

    if reason is None:
        reason = _check_availability(app, reminder)

    if reason is None and not app.config["ABANDON_SEND_EMAILS"]:
        reason = "sending is turned off (ABANDON_SEND_EMAILS)"

    if reason is not None:
        return _skip(session, reminder, reason)

    return deliver(app, reminder, now)


def deliver(
    app: Flask,
    reminder: Reminder,
    now: datetime,
    connection: Connection | None = None,
) -> str:
    """Render and send a claimed reminder; record the outcome.

    Pass an open ``connection`` to send many reminders over one.
    """
    state = get_state(app)
    session = state.session
    reminder.attempts += 1

    # A broken template must not leave the row claimed forever: whatever
    # goes wrong while rendering is recorded on the reminder, then raised.
    try:
        message = build_message(app, reminder)
    except Exception as error:
        reminder.status = ReminderStatus.FAILED
        reminder.reason = f"could not render: {error!r}"[:255]
        session.commit()
        logger.exception("Reminder %s could not be rendered", reminder.id)
        raise

    try:
        if connection is None:
            with connect(app) as connection:
                send(connection, message)
        else:
            send(connection, message)
    except SendFailed as error:
        return _failed(app, reminder, error, now)

    reminder.status = ReminderStatus.SENT
    reminder.sent_at = now
    reminder.to_email = str(message.recipients[0])
    reminder.reason = None
    session.add(
        Event(journey_id=reminder.journey_id, type="reminder_sent", at=now,
              detail={"reminder": reminder.id, "manual": reminder.manual})
    )
    session.commit()
    logger.info("Reminder %s (%s) sent to %s", reminder.id, reminder.template,
                reminder.to_email)
    signals.reminder_sent.send(reminder, message=message)
    return "sent"


def _check_availability(app: Flask, reminder: Reminder) -> str | None:
    """Ask the host whether what the journey holds is still there.

    A booking whose slot has gone gets the "search again" email instead,
    unless the shop chose to send nothing.
    """
    state = get_state(app)
    journey = reminder.journey
    check = state.extension.availability_checks.get(journey.kind)

    if check is None or check(journey):
        return None

    if journey.kind == "booking" and (
        state.settings.booking_when_unavailable == "search_again"
    ):
        reminder.template = "booking_search_again"
        return None

    return "no longer available"


def _skip(session: t.Any, reminder: Reminder, reason: str) -> str:
    reminder.status = ReminderStatus.SKIPPED
    reminder.reason = reason
    session.commit()
    logger.info("Reminder %s skipped: %s", reminder.id, reason)
    signals.reminder_skipped.send(reminder, reason=reason)
    return "skipped"


def _failed(app: Flask, reminder: Reminder, error: SendFailed, now: datetime) -> str:
    """Plan a retry after a temporary failure; give up after the last one."""
    state = get_state(app)
    session = state.session
    delays = state.settings.retry_delays
    reminder.reason = str(error)[:255]

    if error.temporary and reminder.attempts <= len(delays):
        reminder.status = ReminderStatus.PLANNED
        reminder.send_at = now + delays[reminder.attempts - 1]
        session.commit()
        logger.warning(
            "Reminder %s not sent (%s); retry %d at %s", reminder.id, error,
            reminder.attempts, reminder.send_at.isoformat(),
        )
        enqueue_reminders(get_queue(app), [reminder], now)
        session.commit()
        return "retry"

    reminder.status = ReminderStatus.FAILED
    session.commit()
    logger.error("Reminder %s failed after %d attempts: %s", reminder.id,
                 reminder.attempts, error)
    return "failed"

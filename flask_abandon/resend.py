"""What the admin's buttons do: resend now, cancel, send a test.

Free of request globals, like :mod:`flask_abandon.jobs`: callers pass the app,
the ids and the time, and get back what happened to each journey.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import typing as t
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from flask_mail import Connection

from . import rules, tracking
from .jobs import deliver
from .mail import SendFailed, build_message, connect, send
from .models import Journey, JourneyStatus, Reminder, ReminderStatus, utcnow
from .state import get_state

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a batch resend did, journey by journey."""

    sent: list[Journey] = field(default_factory=list)
    #: Journeys not sent to, with the reason, as shown to the shop owner.
    refused: list[tuple[Journey, str]] = field(default_factory=list)
    failed: list[tuple[Journey, str]] = field(default_factory=list)


def refusal(journey: Journey) -> str | None:
    """Why nobody may be reminded of ``journey`` by hand, or ``None``."""
    if journey.status in JourneyStatus.COMPLETED:
        return "already completed"

    if journey.contact is None:
        return "no email address"

    if journey.contact.unsubscribed:
        return "unsubscribed"

    return None


class Batch:
    """One SMTP connection for many messages, opened on first use.

    A connection that the server dropped mid-batch (an idle timeout, a
    restart) is replaced once; if the new one drops too, the remaining
    sends fail and are retried by the worker like any other failure.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stack = contextlib.ExitStack()
        self.current: Connection | None = None
        self.reconnected = False

    def connection(self) -> Connection:
        if self.current is not None and not self.reconnected:
            if not alive(self.current):
                logger.info("The mail server dropped the connection; reconnecting")
                self.stack.close()
                self.current = None
                self.reconnected = True

        if self.current is None:
            self.current = self.stack.enter_context(connect(self.app))

        return self.current

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.stack.close()


def alive(connection: Connection) -> bool:
    """Whether the server still answers on ``connection``."""
    host = connection.host

    # Flask-Mail opens no socket while sending is suppressed.
    if host is None:
        return True

    try:
        return bool(host.noop()[0] == 250)
    except (smtplib.SMTPException, OSError):
        return False


def resend(
    app: Flask, journey_ids: t.Iterable[int], now: datetime | None = None
) -> Outcome:
    """Send each journey's reminder now, by hand, over one SMTP connection.

    Each gets a manual reminder of its own, claimed and checked like a
    planned one, so a journey completed or a contact unsubscribed a second
    ago is refused rather than mailed.
    """
    state = get_state(app)
    session = state.session
    now = now or utcnow()
    outcome = Outcome()
    journeys = session.scalars(
        sa.select(Journey).where(Journey.id.in_(list(journey_ids))).order_by(Journey.id)
    ).all()

    with Batch(app) as batch:
        for journey in journeys:
            reason = refusal(journey)

            if reason is None and not app.config["ABANDON_SEND_EMAILS"]:
                reason = "sending is turned off (ABANDON_SEND_EMAILS)"

            if reason is not None:
                outcome.refused.append((journey, reason))
                continue

            _send_one(app, batch, journey, now, outcome)

    return outcome


def _send_one(
    app: Flask, batch: Batch, journey: Journey, now: datetime, outcome: Outcome
) -> None:
    state = get_state(app)
    session = state.session
    reminder = Reminder(
        journey_id=journey.id,
        manual=True,
        step=None,
        template=f"{journey.kind}_reminder",
        send_at=now,
        created_at=now,
    )
    session.add(reminder)
    session.commit()

    if not rules.claim(session, reminder.id, now):
        outcome.refused.append((journey, "taken by another sender"))
        return

    reason = rules.stop_reason(session, state.settings, reminder, now)

    if reason is not None:
        reminder.status = ReminderStatus.SKIPPED
        reminder.reason = reason
        session.commit()
        outcome.refused.append((journey, reason))
        return

    try:
        connection = batch.connection()
    except SendFailed as error:
        reminder.status = ReminderStatus.FAILED
        reminder.reason = str(error)[:255]
        session.commit()
        outcome.failed.append((journey, str(error)))
        return

    if deliver(app, reminder, now, connection=connection) == "sent":
        logger.info("Manual reminder %s for %s %s sent from the admin",
                    reminder.id, journey.kind, journey.id)
        outcome.sent.append(journey)
    else:
        outcome.failed.append((journey, reminder.reason or "not sent"))


def cancel(session: t.Any, condition: sa.ColumnElement[bool]) -> int:
    """Cancel the planned reminders matching ``condition``; return how many."""
    cancelled = tracking.cancel_reminders(session, condition, "cancelled in the admin")
    session.commit()
    logger.info("%d planned reminders cancelled from the admin", cancelled)
    return cancelled


def send_test(app: Flask, reminder: Reminder, address: str) -> None:
    """Send ``reminder`` as its contact would get it, but to ``address``.

    The reminder itself is left as it was: not claimed, not marked sent.

    :raises ValueError: when the journey has no contact to render it for.
    :raises SendFailed: when the mail server refuses it.
    """
    if reminder.journey.contact is None:
        raise ValueError("this journey has no contact to render the email for")

    message = build_message(app, reminder)
    message.recipients = [address]
    message.subject = f"[Test] {message.subject}"
    # The links inside still act for the real contact (see the admin's test
    # page); at least no mail client offers its one-click unsubscribe.
    message.extra_headers = {}

    with connect(app) as connection:
        send(connection, message)

    logger.info("Test of reminder %s sent to %s from the admin", reminder.id,
                address)

"""Recording journeys: what a visitor holds, who they are, how they paid.

Free of Flask globals: the extension passes in the database session and the
journey's identifiers, so jobs and tests can call these directly.
"""

from __future__ import annotations

import logging
import typing as t
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import signals
from .config import Settings
from .errors import InvalidPayload
from .kinds import KINDS
from .models import (
    Contact,
    Event,
    Journey,
    JourneyStatus,
    ProductView,
    Reminder,
    ReminderStatus,
    new_journey_key,
    utcnow,
)
from .payloads import (
    clean_currency,
    clean_email,
    clean_locale,
    clean_name,
    clean_step,
)

logger = logging.getLogger(__name__)

PAYMENT_OUTCOMES = ("paid", "failed", "pending")


def find_journey(
    session: Session, kind: str, key: str | None = None, ref: str | None = None
) -> Journey | None:
    """The visitor's open journey of ``kind``, by the host's ref or our key."""
    if ref is not None:
        query = sa.select(Journey).filter_by(kind=kind, ref=ref)
    elif key is not None:
        query = sa.select(Journey).filter_by(kind=kind, key=key)
    else:
        return None

    journey = session.scalars(query).first()

    if journey is None or journey.status in JourneyStatus.FINAL:
        return None

    return journey


def track(
    session: Session,
    settings: Settings,
    kind: str,
    *,
    journey: Journey | None,
    given: t.Mapping[str, t.Any],
    ref: str | None = None,
    email: t.Any = None,
    name: t.Any = None,
    consent: t.Any = None,
    locale: t.Any = None,
    currency: t.Any = None,
    step: t.Any = None,
    now: datetime | None = None,
) -> Journey | None:
    """Update ``journey``, or start one, with what the visitor did just now.

    ``given`` holds what the kind tracks (a cart's ``items``, a booking's
    ``selection``...); arguments left as ``None`` keep their stored value.
    Everything is checked before anything is written, so a refused call
    changes nothing. The caller commits.

    Browsing is only recorded for a known contact who consented to marketing;
    otherwise nothing is written and ``None`` is returned.

    :raises InvalidPayload: naming the first field at fault.
    """
    kind_rules = KINDS[kind]
    unknown = sorted(set(given) - set(kind_rules.fields))

    if unknown:
        raise InvalidPayload(
            f"a {kind} takes {list(kind_rules.fields)}, not {unknown}", unknown[0]
        )

    email = None if email is None else clean_email(email)
    locale = None if locale is None else clean_locale(locale)
    currency = None if currency is None else clean_currency(currency)
    step = None if step is None else clean_step(step)
    name = None if name is None else clean_name(name)

    if consent is not None and not isinstance(consent, bool):
        raise InvalidPayload("consent must be true or false", "consent")

    if ref is not None and (not isinstance(ref, str) or not 0 < len(ref) <= 128):
        raise InvalidPayload("ref must be a string of 1 to 128 characters", "ref")

    stored = journey.data if journey is not None else {}
    contents = None

    if any(value is not None for value in given.values()):
        contents = kind_rules.contents(stored, dict(given), settings)

    if kind == "browse" and not _consented(session, journey, email, consent):
        return None

    now = now or utcnow()

    if journey is None:
        journey = Journey(
            kind=kind, key=new_journey_key(), ref=ref, created_at=now, data={}
        )
        session.add(journey)

    if kind == "browse" and contents is not None:
        view = contents.data["views"][-1]
        session.add(ProductView(journey=journey, at=now, **{
            key: view[key] for key in ("sku", "name", "category", "url",
                                       "image_url", "price", "rating_average",
                                       "rating_count")
        }))

    if contents is not None:
        journey.data = contents.data
        journey.item_count = contents.item_count

        if contents.value is not None:
            journey.value = contents.value

        if contents.item_count and journey.first_held_at is None:
            journey.first_held_at = now

    if email is not None:
        journey.contact = get_or_create_contact(session, email, locale)

        if "email_given_at" not in journey.data:
            journey.data = {**journey.data, "email_given_at": now.isoformat()}

    if journey.contact is not None:
        if name is not None:
            journey.contact.name = name

        if consent is not None:
            journey.contact.marketing_consent = consent

    journey.locale = locale or journey.locale
    journey.currency = currency or journey.currency
    journey.step = step or journey.step
    journey.last_activity_at = now
    return journey


def _consented(
    session: Session, journey: Journey | None, email: str | None, consent: bool | None
) -> bool:
    """Whether browsing may be recorded: a known person who said yes."""
    if consent is not None:
        return consent and (email is not None or
                            (journey is not None and journey.contact is not None))

    contact = journey.contact if journey is not None else None

    if contact is None and email is not None:
        contact = session.scalars(
            sa.select(Contact).filter_by(email_key=email.lower())
        ).first()

    return contact is not None and contact.marketing_consent is True


def get_or_create_contact(
    session: Session, email: str, locale: str | None = None
) -> Contact:
    """The contact for ``email`` (any case), created on first sight."""
    email_key = email.lower()
    query = sa.select(Contact).filter_by(email_key=email_key)
    contact = session.scalars(query).first()

    if contact is None:
        contact = Contact(email=email, email_key=email_key, locale=locale)

        # Two requests may meet the same new address at once.
        try:
            with session.begin_nested():
                session.add(contact)
        except IntegrityError:
            contact = session.scalars(query).one()

    elif contact.email != email:
        contact.email = email

    return contact


def record_payment(
    session: Session,
    journey: Journey,
    outcome: str,
    *,
    revenue: Decimal | None = None,
    count_pending_as_paid: bool = False,
    now: datetime | None = None,
) -> bool:
    """Record a payment outcome; return whether it completed the journey.

    A payment completes the journey when it is ``paid``, or ``pending`` where
    the shop counts pending orders (cash on delivery) as purchases.
    """
    if outcome not in PAYMENT_OUTCOMES:
        raise InvalidPayload(
            f"payment outcome must be one of {PAYMENT_OUTCOMES}, got {outcome!r}",
            "outcome",
        )

    now = now or utcnow()
    journey.payment = outcome
    journey.last_activity_at = now
    session.add(Event(journey=journey, type=f"payment_{outcome}", at=now))

    if outcome == "paid" or (outcome == "pending" and count_pending_as_paid):
        complete(session, journey, revenue=revenue, now=now)
        return True

    session.commit()
    return False


def complete(
    session: Session,
    journey: Journey,
    *,
    revenue: Decimal | None = None,
    now: datetime | None = None,
) -> None:
    """Mark the journey purchased, booked or submitted; stop its reminders.

    It counts as recovered when a reminder's link was opened before.
    """
    if journey.status in JourneyStatus.COMPLETED:
        return

    now = now or utcnow()
    recovered = journey.clicked_at is not None
    journey.status = (
        JourneyStatus.RECOVERED if recovered else JourneyStatus.CONVERTED
    )
    journey.completed_at = now
    journey.revenue = journey.value if revenue is None else Decimal(revenue)
    session.add(Event(journey=journey, type="completed", at=now))
    cancelled = cancel_reminders(
        session, Reminder.journey_id == journey.id, "completed"
    )
    session.commit()
    logger.info(
        "%s %s completed%s; %d planned reminders cancelled",
        journey.kind, journey.id, " (recovered)" if recovered else "", cancelled,
    )
    signals.journey_completed.send(journey, recovered=recovered)


def cancel_reminders(
    session: Session, condition: sa.ColumnElement[bool], reason: str
) -> int:
    """Cancel planned reminders matching ``condition``; return how many."""
    result = session.execute(
        sa.update(Reminder)
        .where(condition, Reminder.status == ReminderStatus.PLANNED)
        .values(status=ReminderStatus.CANCELLED, reason=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


def record_click(
    session: Session, journey: Journey, reminder_id: int | None, now: datetime
) -> None:
    """Note that a recovery link was opened: the visitor is back."""
    journey.clicked_at = journey.clicked_at or now
    journey.last_activity_at = now
    session.add(
        Event(journey=journey, type="clicked", at=now,
              detail={"reminder": reminder_id})
    )
    session.commit()


def unsubscribe(
    session: Session, email_key: str, now: datetime | None = None
) -> int:
    """Unsubscribe an address from every reminder, now and later.

    :returns: how many planned reminders were cancelled.
    """
    contact = session.scalars(
        sa.select(Contact).filter_by(email_key=email_key.lower())
    ).first()

    if contact is None:
        return 0

    contact.unsubscribed_at = contact.unsubscribed_at or now or utcnow()
    journeys = sa.select(Journey.id).where(Journey.contact_id == contact.id)
    cancelled = cancel_reminders(
        session, Reminder.journey_id.in_(journeys), "unsubscribed"
    )
    session.commit()
    logger.info("Contact %s unsubscribed; %d reminders cancelled", contact.id,
                cancelled)
    signals.contact_unsubscribed.send(contact)
    return cancelled

"""Deleting what was tracked: old journeys, or everything about a person."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Contact, Event, Journey, ProductView, Reminder

logger = logging.getLogger(__name__)


def delete_journeys(session: Session, journey_ids: list[int]) -> None:
    """Delete journeys with their events, reminders and product views."""
    for table in (Event, Reminder, ProductView):
        session.execute(
            sa.delete(table).where(table.journey_id.in_(journey_ids))
            .execution_options(synchronize_session=False)
        )

    session.execute(
        sa.delete(Journey).where(Journey.id.in_(journey_ids))
        .execution_options(synchronize_session=False)
    )


def erase_contact(session: Session, email: str) -> int | None:
    """Delete the contact with ``email`` (any case) and all their journeys.

    Afterwards nothing is known of the address, not even that it
    unsubscribed: if it comes back, it starts afresh.

    :returns: how many journeys were deleted; ``None`` for an unknown address.
    """
    contact = session.scalars(
        sa.select(Contact).filter_by(email_key=email.strip().lower())
    ).first()

    if contact is None:
        return None

    journeys = sa.select(Journey.id).where(Journey.contact_id == contact.id)
    journey_ids = list(session.scalars(journeys))
    delete_journeys(session, journey_ids)
    session.delete(contact)
    session.commit()
    logger.info("Erased contact %s and %d journeys", contact.id, len(journey_ids))
    return len(journey_ids)

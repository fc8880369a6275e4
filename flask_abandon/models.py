"""Database models: contacts, journeys, their events and reminders.

The models are declared on a metadata of their own. :meth:`attach_tables`
copies the tables onto the host's Flask-SQLAlchemy metadata so that the host's
``db.create_all()`` and its Alembic migrations see them like its own tables.
"""

from __future__ import annotations

import secrets
import typing as t
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC values.

    SQLite keeps no time zone, so values read back from it are naive UTC;
    naive values given to it are refused rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        if value is None:
            return None

        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC time")

        value = value.astimezone(timezone.utc)

        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)

        return value

    def process_result_value(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        if value is None:
            return None

        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)

        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, t.Any]: sa.JSON(),
        Decimal: sa.Numeric(18, 4),
    }


def attach_tables(metadata: sa.MetaData) -> None:
    """Add copies of this module's tables to ``metadata`` (the host's)."""
    for table in Base.metadata.sorted_tables:
        if table.key not in metadata.tables:
            table.to_metadata(metadata)


class Contact(Base):
    """A person reminders can be sent to, known by email address."""

    __tablename__ = "abandon_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    #: The address lower-cased, so one person is one contact whatever the case.
    email_key: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    marketing_consent: Mapped[bool | None]
    unsubscribed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    journeys: Mapped[list[Journey]] = relationship(back_populates="contact")

    @property
    def unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.email_key}>"


class JourneyStatus:
    """The states of a journey: active, then abandoned, then one final state."""

    ACTIVE = "active"
    ABANDONED = "abandoned"
    CONVERTED = "converted"
    RECOVERED = "recovered"
    EXPIRED = "expired"

    #: States after which the journey takes no more reminders.
    FINAL = (CONVERTED, RECOVERED, EXPIRED)
    #: States that count as a purchase, booking or submission.
    COMPLETED = (CONVERTED, RECOVERED)


def new_journey_key() -> str:
    return secrets.token_urlsafe(16)


class Journey(Base):
    """Something a visitor started and may leave unfinished: a cart, say.

    ``data`` holds what the kind tracks (a cart's line items); ``value`` and
    ``item_count`` summarise it for queries.
    """

    __tablename__ = "abandon_journey"
    __table_args__ = (
        sa.Index(
            "ix_abandon_journey_sweep", "kind", "status", "last_activity_at"
        ),
        sa.Index("ix_abandon_journey_started", "kind", "created_at"),
        # The admin's lists of any status, newest activity first.
        sa.Index("ix_abandon_journey_activity", "kind", "last_activity_at"),
        sa.UniqueConstraint("kind", "ref", name="uq_abandon_journey_kind_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random public identifier, kept in the visitor's session and in links.
    key: Mapped[str] = mapped_column(
        sa.String(32), unique=True, default=new_journey_key
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    #: The host's own identifier for the journey (an order or cart id), if any.
    ref: Mapped[str | None] = mapped_column(sa.String(128))
    status: Mapped[str] = mapped_column(sa.String(16), default=JourneyStatus.ACTIVE)
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("abandon_contact.id"), index=True
    )
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    value: Mapped[Decimal] = mapped_column(default=Decimal(0))
    item_count: Mapped[int] = mapped_column(default=0)
    #: Furthest step reached, in the host's words ("cart", "payment").
    step: Mapped[str | None] = mapped_column(sa.String(64))
    #: Last payment outcome reported: paid, failed or pending.
    payment: Mapped[str | None] = mapped_column(sa.String(16))
    data: Mapped[dict[str, t.Any]] = mapped_column(default=dict)
    #: Bot traffic: never abandoned, nor counted in the rate. Nothing sets it
    #: yet; a host can, until requests are classified by their User-Agent.
    is_bot: Mapped[bool] = mapped_column(default=False)
    #: First time it held something (an item): from then on it counts as
    #: started in the abandonment rate, even if emptied later.
    first_held_at: Mapped[datetime | None]
    revenue: Mapped[Decimal | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    abandoned_at: Mapped[datetime | None]
    #: First time a recovery link from a reminder was opened.
    clicked_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    contact: Mapped[Contact | None] = relationship(back_populates="journeys")
    reminders: Mapped[list[Reminder]] = relationship(
        back_populates="journey",
        order_by="Reminder.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="journey",
        order_by="Event.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def items(self) -> list[dict[str, t.Any]]:
        """The cart's line items, prices as :class:`~decimal.Decimal`."""
        return [
            {**item, "unit_price": Decimal(item["unit_price"])}
            for item in self.data.get("items", ())
        ]

    @property
    def completed(self) -> bool:
        return self.status in JourneyStatus.COMPLETED

    def __repr__(self) -> str:
        return f"<Journey {self.id} {self.kind} {self.status}>"


class Event(Base):
    """A line of a journey's timeline: tracked, abandoned, clicked, paid."""

    __tablename__ = "abandon_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("abandon_journey.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, t.Any] | None]

    journey: Mapped[Journey] = relationship(back_populates="events")


class ReminderStatus:
    """The states of a reminder. ``SENDING`` is held by exactly one worker."""

    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Reminder(Base):
    """One email of a journey's sequence, planned, then sent or not."""

    __tablename__ = "abandon_reminder"
    __table_args__ = (
        # One row per step of the sequence; manual sends have no step.
        sa.UniqueConstraint(
            "journey_id", "step", name="uq_abandon_reminder_journey_step"
        ),
        sa.Index("ix_abandon_reminder_due", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("abandon_journey.id", ondelete="CASCADE")
    )
    step: Mapped[int | None]
    template: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(
        sa.String(16), default=ReminderStatus.PLANNED
    )
    manual: Mapped[bool] = mapped_column(default=False)
    send_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: When the RQ job was last handed to Redis; empty while Redis was down.
    enqueued_at: Mapped[datetime | None]
    to_email: Mapped[str | None] = mapped_column(sa.String(320))
    attempts: Mapped[int] = mapped_column(default=0)
    #: Why it was skipped, failed or cancelled.
    reason: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    journey: Mapped[Journey] = relationship(back_populates="reminders")

    def __repr__(self) -> str:
        return f"<Reminder {self.id} {self.template} {self.status}>"


class ProductView(Base):
    """One product view of a browse session, kept apart so that the default
    recommendations can ask SQL which products are popular."""

    __tablename__ = "abandon_product_view"
    __table_args__ = (sa.Index("ix_abandon_product_view_category", "category", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("abandon_journey.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(255))
    category: Mapped[str | None] = mapped_column(sa.String(255))
    url: Mapped[str | None] = mapped_column(sa.String(2048))
    image_url: Mapped[str | None] = mapped_column(sa.String(2048))
    price: Mapped[Decimal | None]
    rating_average: Mapped[float | None]
    rating_count: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)

    journey: Mapped[Journey] = relationship()

    def as_product(self) -> dict[str, t.Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "url": self.url,
            "image_url": self.image_url,
            "price": None if self.price is None else str(self.price),
            "rating_average": self.rating_average,
            "rating_count": self.rating_count,
        }

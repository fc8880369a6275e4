"""The shop's catalogue, its orders, its classes and its tea-club members."""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Product(db.Model):
    """Something the shop sells, priced in the shop's one currency."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    #: Path of the picture under ``static/``, if there is one.
    image: Mapped[str | None] = mapped_column(sa.String(255))
    category: Mapped[str] = mapped_column(sa.String(40), default="tea")
    rating_average: Mapped[float | None]
    rating_count: Mapped[int] = mapped_column(default=0)
    #: A customer review the shop chose to show off.
    review: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"


class Order(db.Model):
    """A finished checkout: what was bought, by whom, and how it was paid."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    #: ``paid``, ``failed`` or ``pending`` (cash on delivery).
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Line items: ``sku``, ``name``, ``unit_price`` (a string), ``quantity``.
    lines: Mapped[list[dict[str, t.Any]]] = mapped_column(sa.JSON, default=list)

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status}>"


class CookingClass(db.Model):
    """A tea-cooking class held on several dates, with a few seats each."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    level: Mapped[str] = mapped_column(sa.String(20))
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    seats: Mapped[int]


class ClassBooking(db.Model):
    """A confirmed seat (or seats) in a class on one date."""

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("cooking_class.id"))
    date: Mapped[str] = mapped_column(sa.String(10))
    party: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    email: Mapped[str] = mapped_column(sa.String(320))
    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))

    cooking_class: Mapped[CookingClass] = relationship()


class Member(db.Model):
    """Somebody who finished the tea-club sign-up."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    company: Mapped[str] = mapped_column(sa.String(120), default="")
    #: The SKU of the tea they like best, if they said.
    favourite_tea: Mapped[str | None] = mapped_column(sa.String(32))
    consent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

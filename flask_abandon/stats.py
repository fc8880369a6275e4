"""Abandonment rates and recovered revenue, counted by the database.

The rate of a period and kind: of the journeys created in the period that
ever held something (``first_held_at`` set), not flagged as bots, the share
that has not been completed by report time::

    rate = 1 - completed / started

A journey counts in the period it was created in, whenever it completed:
a cart filled last week and bought today lowers last week's rate. Its status
is the truth: whether a pending payment counts as paid was settled when it
was recorded.

Free of Flask globals: callers pass a session, the kinds and the periods.
Every figure comes from one ``GROUP BY`` query; no journey row is loaded.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Journey, JourneyStatus


@dataclass(frozen=True)
class Period:
    """A span of time, start included, end excluded."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, length: timedelta) -> Period:
        return cls(end - length, end)

    def before(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - (self.end - self.start), self.start)


@dataclass
class Counts:
    """The figures behind the rate of one kind in one period."""

    started: int = 0
    completed: int = 0
    recovered: int = 0
    #: Started and not completed, but still inside their timeout or not yet
    #: swept: they count as not completed until they are.
    active: int = 0
    #: Revenue of recovered journeys, by currency code (``""`` for none).
    recovered_revenue: dict[str, Decimal] = field(default_factory=dict)

    @property
    def abandoned(self) -> int:
        """Started and not completed: what the rate counts as abandoned."""
        return self.started - self.completed

    @property
    def rate(self) -> float | None:
        """``1 - completed / started``, or ``None`` when nothing started."""
        if not self.started:
            return None

        return 1 - self.completed / self.started

    def add(self, other: Counts) -> None:
        self.started += other.started
        self.completed += other.completed
        self.recovered += other.recovered
        self.active += other.active

        for currency, amount in other.recovered_revenue.items():
            total = self.recovered_revenue.get(currency, Decimal(0))
            self.recovered_revenue[currency] = total + amount


def count_periods(
    session: Session,
    kinds: t.Sequence[str],
    periods: t.Sequence[Period],
) -> list[dict[str, Counts]]:
    """Count started, completed and recovered journeys per period and kind.

    The periods must not overlap. One query answers all of them, grouped by
    period, kind and currency; the result has one ``{kind: Counts}`` per
    period, in the order given, with every kind present.

    Filters on ``kind`` and ``created_at`` so the database can use
    ``ix_abandon_journey_started``.
    """
    results: list[dict[str, Counts]] = [
        {kind: Counts() for kind in kinds} for _ in periods
    ]

    if not periods or not kinds:
        return results

    bucket = sa.case(
        *(
            (
                sa.and_(Journey.created_at >= p.start, Journey.created_at < p.end),
                index,
            )
            for index, p in enumerate(periods)
        ),
        else_=None,
    ).label("bucket")
    completed = Journey.status.in_(JourneyStatus.COMPLETED)
    recovered = Journey.status == JourneyStatus.RECOVERED
    active = Journey.status == JourneyStatus.ACTIVE
    query = (
        sa.select(
            bucket,
            Journey.kind,
            Journey.currency,
            sa.func.count(),
            sa.func.sum(sa.case((completed, 1), else_=0)),
            sa.func.sum(sa.case((recovered, 1), else_=0)),
            sa.func.sum(sa.case((active, 1), else_=0)),
            sa.func.sum(sa.case((recovered, Journey.revenue), else_=None)),
        )
        .where(
            Journey.kind.in_(kinds),
            Journey.created_at >= min(p.start for p in periods),
            Journey.created_at < max(p.end for p in periods),
            Journey.first_held_at.is_not(None),
            Journey.is_bot.is_(False),
        )
        .group_by(bucket, Journey.kind, Journey.currency)
    )

    for index, kind, currency, *figures in session.execute(query):
        if index is None:
            continue

        started, done, back, still_active, revenue = figures
        counts = Counts(
            started=int(started),
            completed=int(done or 0),
            recovered=int(back or 0),
            active=int(still_active or 0),
        )

        if revenue is not None:
            counts.recovered_revenue[currency or ""] = Decimal(revenue)

        results[int(index)][kind].add(counts)

    return results


def compare(
    session: Session, kinds: t.Sequence[str], period: Period
) -> tuple[dict[str, Counts], dict[str, Counts]]:
    """Counts for ``period`` and for the period of the same length before it."""
    current, previous = count_periods(session, kinds, [period, period.before()])
    return current, previous


def weekly(
    session: Session, kind: str, weeks: int, end: datetime
) -> list[tuple[Period, Counts]]:
    """Counts of ``kind`` for each of the ``weeks`` weeks up to ``end``."""
    periods = [
        Period.ending(end - timedelta(weeks=n), timedelta(weeks=1))
        for n in reversed(range(weeks))
    ]
    counts = count_periods(session, [kind], periods)
    return [
        (period, by_kind[kind])
        for period, by_kind in zip(periods, counts, strict=True)
    ]

"""List filters of the admin, each one a condition an index can serve."""

from __future__ import annotations

import typing as t
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    BooleanEqualFilter,
    DateBetweenFilter,
)
from flask_admin.model.filters import BaseBooleanFilter

from .display import shop_timezone
from .models import Contact, Journey, JourneyStatus

#: Shown for a journey whose contact unsubscribed before it completed.
UNSUBSCRIBED = "unsubscribed"
#: The status filter's value that filters nothing.
ANY = "any"


class StatusFilter(BaseSQLAFilter):
    """A journey's status; "unsubscribed" for open ones nobody may mail."""

    default = JourneyStatus.ABANDONED

    def __init__(self) -> None:
        statuses = [
            JourneyStatus.ABANDONED, JourneyStatus.ACTIVE, JourneyStatus.RECOVERED,
            JourneyStatus.CONVERTED, JourneyStatus.EXPIRED, UNSUBSCRIBED,
        ]
        options = [(status, status) for status in statuses]
        super().__init__(Journey.status, "Status", [*options, (ANY, "any status")])

    def apply(self, query: t.Any, value: t.Any, alias: t.Any = None) -> t.Any:
        if value == ANY:
            return query

        if value == UNSUBSCRIBED:
            unsubscribed = sa.select(Contact.id).where(
                Contact.unsubscribed_at.is_not(None)
            )
            return query.filter(
                Journey.status.not_in(JourneyStatus.COMPLETED),
                Journey.contact_id.in_(unsubscribed),
            )

        return query.filter(Journey.status == value)

    def operation(self) -> str:
        return "is"

    @classmethod
    def args(cls, view: t.Any) -> dict[str, str]:
        """Query arguments that apply the default status on ``view``."""
        for index, flt in enumerate(view._filters):
            if isinstance(flt, cls):
                return {f"flt0_{view.get_filter_arg(index, flt)}": cls.default}

        return {}


class LocalDateBetween(DateBetweenFilter):
    """Days in the shop's time zone, both ends included."""

    def apply(self, query: t.Any, value: t.Any, alias: t.Any = None) -> t.Any:
        first, last = value
        zone = shop_timezone()
        start = datetime.combine(first, time(), zone)
        end = datetime.combine(last + timedelta(days=1), time(), zone)
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)


class HasValueFilter(BaseSQLAFilter, BaseBooleanFilter):
    """Yes when the column is set: an email given, an unsubscribe recorded."""

    def apply(self, query: t.Any, value: t.Any, alias: t.Any = None) -> t.Any:
        column = self.get_column(alias)
        return query.filter(column.is_not(None) if value == "1" else column.is_(None))

    def operation(self) -> str:
        return "is"


class RecoveredFilter(BooleanEqualFilter):
    """Completed after a reminder's link was opened, or not."""

    def apply(self, query: t.Any, value: t.Any, alias: t.Any = None) -> t.Any:
        recovered = Journey.status == JourneyStatus.RECOVERED
        return query.filter(recovered if value else ~recovered)

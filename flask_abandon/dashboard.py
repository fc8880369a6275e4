"""The admin's dashboard: abandonment rate per kind and its weekly chart."""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask import abort, current_app, request
from flask_admin import BaseView, expose

from . import stats
from .access import Guarded
from .chart import Bar, percent, rate_chart
from .display import local_time, money, shop_timezone
from .models import utcnow
from .state import get_state


class DashboardView(Guarded, BaseView):
    """Abandonment rate per kind, this period beside the one before."""

    @expose("/")
    def index(self) -> t.Any:
        state = get_state(current_app)
        kinds = state.settings.kinds
        days = min(max(request.args.get("days", 14, type=int), 1), 366)
        kind = request.args.get("kind", kinds[0])

        if kind not in kinds:
            abort(404)

        now = utcnow()
        period = stats.Period.ending(now, timedelta(days=days))
        session = state.session
        current, previous = stats.compare(session, kinds, period)
        bars = [
            Bar(local_time(week.start, "%d %b"), counts.rate,
                f"{counts.completed} completed of {counts.started} started")
            for week, counts in stats.weekly(session, kind, 12, now)
        ]
        return self.render(
            "abandon/admin/dashboard.html", kinds=kinds, kind=kind, days=days,
            period=period, current=current, previous=previous, percent=percent,
            chart=rate_chart(bars, f"Weekly abandonment rate of {kind}s"),
            money=money, local_time=local_time, timezone=shop_timezone(),
        )

"""The abandonment rate, against hand-counted journeys on real databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import ITEMS

from flask_abandon import stats, tracking
from flask_abandon.models import Journey
from flask_abandon.state import get_state

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc)
PERIOD = stats.Period.ending(NOW, timedelta(days=14))


def day(month: int, d: int, hour: int = 10) -> datetime:
    return datetime(2026, month, d, hour, 0, tzinfo=timezone.utc)


def cart(app, db, email: str, at: datetime, items=ITEMS) -> Journey:
    settings = get_state(app).settings
    journey = tracking.track(
        db.session, settings, "cart", journey=None, given={"items": items},
        email=email, currency="EUR", now=at,
    )
    db.session.commit()
    return journey


@pytest.fixture
def shop(app, db):
    """Seven carts started in the period, three completed; two before it."""
    with app.app_context():
        session = db.session
        settings = get_state(app).settings

        bought = cart(app, db, "a@example.com", day(3, 5))
        tracking.record_payment(session, bought, "paid", now=day(3, 5, 11))

        emptied = cart(app, db, "b@example.com", day(3, 6))
        tracking.track(session, settings, "cart", journey=emptied,
                       given={"items": []}, now=day(3, 6, 11))
        session.commit()

        # Still inside its 30 minutes: counts as not completed (yet).
        cart(app, db, "c@example.com", NOW - timedelta(minutes=10))

        failed = cart(app, db, "d@example.com", day(3, 7))
        tracking.record_payment(session, failed, "failed", now=day(3, 7, 11))

        pending = cart(app, db, "e@example.com", day(3, 8))
        tracking.record_payment(session, pending, "pending", now=day(3, 8, 11))

        cash = cart(app, db, "f@example.com", day(3, 9))
        tracking.record_payment(session, cash, "pending", now=day(3, 9, 11),
                                count_pending_as_paid=True)

        bot = cart(app, db, "g@example.com", day(3, 10))
        bot.is_bot = True
        tracking.record_payment(session, bot, "paid", now=day(3, 10, 11))

        # Never held anything: not started.
        tracking.track(session, settings, "cart", journey=None, given={},
                       email="h@example.com", now=day(3, 10))
        session.commit()

        recovered = cart(app, db, "i@example.com", day(3, 11))
        tracking.record_click(session, recovered, None, day(3, 12))
        tracking.record_payment(session, recovered, "paid", now=day(3, 12),
                                revenue=Decimal("40.00"))

        # Started in the period before, bought in this one: counts before.
        late = cart(app, db, "p@example.com", day(2, 20))
        tracking.record_payment(session, late, "paid", now=day(3, 3))
        cart(app, db, "q@example.com", day(2, 25))

    return app


def test_rate_matches_hand_counts(shop, db):
    with shop.app_context():
        current, previous = stats.compare(db.session, ["cart", "booking"], PERIOD)

    now = current["cart"]
    assert (now.started, now.completed, now.recovered) == (7, 3, 1)
    assert now.abandoned == 4
    assert now.active == 4
    assert now.rate == pytest.approx(1 - 3 / 7)
    assert now.recovered_revenue == {"EUR": Decimal("40.00")}

    before = previous["cart"]
    assert (before.started, before.completed) == (2, 1)
    assert before.rate == pytest.approx(0.5)

    assert current["booking"].started == 0
    assert current["booking"].rate is None


def test_weekly_buckets_add_up(shop, db):
    with shop.app_context():
        weeks = stats.weekly(db.session, "cart", 4, NOW)

    assert [period.end for period, _ in weeks][-1] == NOW
    assert sum(counts.started for _, counts in weeks) == 9
    assert sum(counts.completed for _, counts in weeks) == 4
    pairs = zip(weeks, weeks[1:], strict=False)
    assert all(b.start == a.end for (a, _), (b, _) in pairs)


def test_dashboard_shows_rate_formula_and_counts(make_app, db):
    app, db, _ = make_app({"ABANDON_ADMIN_ACCESS": lambda: True})

    with app.app_context():
        bought = cart(app, db, "a@example.com", datetime.now(timezone.utc))
        tracking.record_payment(db.session, bought, "paid")
        cart(app, db, "b@example.com", datetime.now(timezone.utc))

    page = app.test_client().get("/abandon/admin/").get_data(as_text=True)
    assert "50.0 %" in page
    assert "1 − 1 ÷ 2" in page
    assert "<svg" in page and "n/a" in page
    assert "http" not in page.split("<svg", 1)[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )

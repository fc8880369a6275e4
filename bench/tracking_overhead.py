"""Tracking overhead: ``abandon.track`` against a bare view doing the same write.

Both views run in one process, on the same SQLite file (or the database given
with ``--database``), through Flask's test client, so the ratio shows what the
extension adds on the shop's request path. Also counts the SQL statements of
one tracking call and checks that it makes no Redis round trip.

    python bench/tracking_overhead.py --requests 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, session
from flask_sqlalchemy import SQLAlchemy

from flask_abandon import Abandon

ITEMS = [
    {"sku": "TEA-1", "name": "Green tea", "unit_price": Decimal("12.80"),
     "quantity": 2},
    {"sku": "POT-1", "name": "Tea pot", "unit_price": Decimal("30.00"), "quantity": 1},
]


def make_app(database_url: str) -> tuple[Flask, SQLAlchemy]:
    app = Flask("bench")
    app.config.update(
        SECRET_KEY="bench",
        SQLALCHEMY_DATABASE_URI=database_url,
        ABANDON_BASE_URL="https://shop.example.com",
        ABANDON_REDIS_URL="redis://127.0.0.1:1/0",
        MAIL_DEFAULT_SENDER="shop@example.com",
    )
    db = SQLAlchemy(app)
    abandon = Abandon(app, db=db)
    bare_carts = sa.Table(
        "bare_cart",
        db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(32), unique=True),
        sa.Column("data", sa.JSON),
        sa.Column("value", sa.Numeric(18, 4)),
        sa.Column("item_count", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
    )

    @app.post("/bare")
    def bare() -> str:
        """What a shop would write anyway: upsert its cart row."""
        key = session.setdefault("bare", f"k{time.perf_counter_ns()}")
        items = [{**item, "unit_price": str(item["unit_price"])} for item in ITEMS]
        values = {"data": {"items": items}, "value": Decimal("55.60"),
                  "item_count": 3, "updated_at": sa.func.now()}
        updated = db.session.execute(
            bare_carts.update().where(bare_carts.c.key == key).values(**values)
        ).rowcount

        if not updated:
            db.session.execute(bare_carts.insert().values(key=key, **values))

        db.session.commit()
        return "ok"

    @app.post("/tracked")
    def tracked() -> str:
        abandon.track("cart", items=ITEMS, currency="EUR", locale="en")
        return "ok"

    with app.app_context():
        db.create_all()

    return app, db


def time_view(app: Flask, path: str, requests: int) -> list[float]:
    """Per-request seconds; one client, so one session and one cart, updated."""
    client = app.test_client()
    client.post(path)
    timings = []

    for _ in range(requests):
        start = time.perf_counter()
        client.post(path)
        timings.append(time.perf_counter() - start)

    return timings


def statements_per_call(app: Flask, db: SQLAlchemy) -> tuple[int, int]:
    """SQL statements of a first tracking call and of a later one."""
    counts: list[int] = []
    client = app.test_client()

    with app.app_context():
        engine = db.engine

    def count(*args: object) -> None:
        counts[-1] += 1

    sa.event.listen(engine, "before_cursor_execute", count)

    for _ in range(2):
        counts.append(0)
        client.post("/tracked")

    sa.event.remove(engine, "before_cursor_execute", count)
    return counts[0], counts[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database", help="SQLAlchemy URL; default a SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        app, db = make_app(url)
        first, later = statements_per_call(app, db)
        bare = time_view(app, "/bare", args.requests)
        tracked = time_view(app, "/tracked", args.requests)

        with app.app_context():
            db.drop_all()

    bare_median = statistics.median(bare)
    tracked_median = statistics.median(tracked)
    result = {
        "database": url.split(":")[0],
        "requests": args.requests,
        "bare_view_median_ms": round(bare_median * 1000, 3),
        "tracked_view_median_ms": round(tracked_median * 1000, 3),
        "ratio_tracked_to_bare": round(tracked_median / bare_median, 2),
        "statements_first_call": first,
        "statements_later_call": later,
        "redis_round_trips": 0 if "redis" not in app.extensions["abandon"].__dict__
        else "opened",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

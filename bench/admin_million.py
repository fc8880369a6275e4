"""Admin pages on a big shop: the cart list and the dashboard over N journeys.

Seeds N journeys (a million by default) with bulk inserts into SQLite, and
into PostgreSQL when it is reachable, then times each page through Flask's
test client next to the raw SQL that page ran, replayed on the same
connection. The ratio shows what Flask-Admin and the templates add; the SQL
time shows whether the indexes hold up. Nothing is asserted.

    python bench/admin_million.py --n 1000000
    python bench/admin_million.py --n 20000 --no-postgres
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import tempfile
import time
import typing as t
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_abandon import Abandon
from flask_abandon.models import Contact, Journey

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAGES = {
    "cart list (abandoned)": "/abandon/admin/carts/?flt0_status_is=abandoned",
    "cart list (any, page 50)": "/abandon/admin/carts/?flt0_status_is=any&page=50",
    "cart search (email)": "/abandon/admin/carts/?flt0_status_is=any"
                           "&search=shopper123%40example.com",
    "dashboard (14 days)": "/abandon/admin/",
    "dashboard (90 days)": "/abandon/admin/?days=90",
}
ITEMS = [{"sku": "TEA-1", "name": "Green tea", "unit_price": "12.80", "quantity": 2}]
#: Indexes proposed for models.py; ``--suggested-indexes`` adds them after seeding.
#: Plain DDL, so that importing this module adds nothing to the models' tables.
SUGGESTED_INDEXES = [
    # The list sorted by activity across statuses ("any status", a page far in).
    "CREATE INDEX ix_abandon_journey_activity"
    " ON abandon_journey (kind, last_activity_at)",
    # Covers the rate query: counted from the index alone, no table lookups.
    "CREATE INDEX ix_abandon_journey_rate ON abandon_journey"
    " (kind, created_at, status, is_bot, first_held_at, currency, revenue)",
]
STATUSES = ["abandoned"] * 5 + ["converted"] * 3 + ["recovered", "active", "expired"]


def make_app(database_url: str) -> tuple[Flask, SQLAlchemy]:
    app = Flask("bench")
    app.config.update(
        SECRET_KEY="bench",
        SQLALCHEMY_DATABASE_URI=database_url,
        ABANDON_BASE_URL="https://shop.example.com",
        ABANDON_REDIS_URL="redis://127.0.0.1:1/0",
        MAIL_DEFAULT_SENDER="shop@example.com",
        ABANDON_ADMIN_ACCESS=lambda: True,
    )
    db = SQLAlchemy(app)
    Abandon(app, db=db)
    return app, db


def seed(db: SQLAlchemy, n: int, batch: int = 20_000) -> float:
    """Insert ``n`` carts over the past year, one contact per ten carts."""
    started = time.perf_counter()
    pick = random.Random(1)
    now = datetime.now(timezone.utc)
    contacts = max(n // 10, 1)
    engine = db.engine

    with engine.begin() as connection:
        for first in range(0, contacts, batch):
            connection.execute(sa.insert(Contact), [
                {"id": i + 1, "email": f"shopper{i}@example.com",
                 "email_key": f"shopper{i}@example.com", "name": f"Shopper {i}",
                 "created_at": now}
                for i in range(first, min(first + batch, contacts))
            ])

        for first in range(0, n, batch):
            rows = []

            for i in range(first, min(first + batch, n)):
                created = now - timedelta(seconds=pick.uniform(0, 365 * 86400))
                status = pick.choice(STATUSES)
                rows.append({
                    "id": i + 1, "key": f"k{i}", "kind": "cart", "ref": f"order-{i}",
                    "status": status, "contact_id": i % contacts + 1,
                    "currency": "EUR", "value": 25.6, "item_count": 2,
                    "data": {"items": ITEMS}, "is_bot": i % 50 == 0,
                    "first_held_at": created, "created_at": created,
                    "last_activity_at": created + timedelta(minutes=20),
                    "revenue": 25.6 if status in ("converted", "recovered") else None,
                })

            connection.execute(sa.insert(Journey), rows)

    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))

    return time.perf_counter() - started


def capture(engine: sa.Engine) -> list[tuple[str, t.Any]]:
    statements: list[tuple[str, t.Any]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def record(*args: t.Any) -> None:
        # (connection, cursor, statement, parameters, context, executemany)
        statements.append((args[2], args[3]))

    return statements


def run_sql(raw: t.Any, replay: list[tuple[str, t.Any]]) -> None:
    """Run the captured statements straight on the DBAPI connection."""
    cursor = raw.cursor()

    for statement, parameters in replay:
        cursor.execute(statement, parameters)
        cursor.fetchall()

    cursor.close()


def best(function: t.Callable[[], t.Any], runs: int) -> float:
    times = []

    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)

    return statistics.median(times)


def bench(name: str, database_url: str, n: int, runs: int,
          indexes: bool = False) -> None:
    app, db = make_app(database_url)

    with app.app_context():
        db.drop_all()
        db.create_all()
        print(f"\n{name}: seeding {n:,} journeys ... ", end="", flush=True)
        print(f"{seed(db, n):.1f} s")

        if indexes:
            with db.engine.begin() as connection:
                for ddl in SUGGESTED_INDEXES:
                    connection.execute(sa.text(ddl))

                connection.execute(sa.text("ANALYZE"))

            print("with the suggested indexes")
        client = app.test_client()
        statements = capture(db.engine)
        print(f"{'page':28} {'page ms':>9} {'SQL ms':>9} {'ratio':>7} {'queries':>8}")

        for label, url in PAGES.items():
            assert client.get(url).status_code == 200, url
            statements.clear()
            client.get(url)
            replay = [s for s in statements
                      if s[0].lstrip().upper().startswith("SELECT")]
            page = best(functools.partial(client.get, url), runs)
            raw = db.engine.raw_connection()
            sql = best(functools.partial(run_sql, raw, replay), runs)
            raw.close()
            print(f"{label:28} {page * 1000:9.1f} {sql * 1000:9.1f}"
                  f" {page / sql if sql else float('nan'):7.1f} {len(replay):8}")

        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_URL)

        with engine.connect():
            pass

        engine.dispose()
    except Exception:
        return False

    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="journeys to seed")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per page")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--suggested-indexes", action="store_true",
                        help="add the indexes proposed for models.py first")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        if not args.no_sqlite:
                bench("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.n,
                  args.runs, args.suggested_indexes)

    if args.no_postgres or not postgres_reachable():
        print("\nPostgreSQL: skipped (not reachable or --no-postgres)")
    else:
        bench("PostgreSQL", POSTGRES_URL, args.n, args.runs, args.suggested_indexes)


if __name__ == "__main__":
    main()

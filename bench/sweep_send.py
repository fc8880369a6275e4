"""Sweep and send throughput, each beside a bare baseline in the same run.

- Sweep: ``run_sweep`` abandoning N idle carts (planning three reminders each
  and handing each an RQ job on Redis), against one bare SQL ``UPDATE`` of
  the same rows and an ``INSERT`` of the same reminder rows.
- Send: ``send_reminder`` jobs for M reminders run by an RQ worker (claim,
  checks, render, SMTP to a loopback sink), against Flask-Mail sending M
  ready-made messages to the same sink, one connection each as we do.

    python bench/sweep_send.py --carts 5000 --sends 500

Uses Redis database 14 on 127.0.0.1:6379 and flushes it.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
import typing as t
from datetime import timedelta
from pathlib import Path

import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask_mail import Connection, Mail, Message
from flask_sqlalchemy import SQLAlchemy

from flask_abandon import Abandon
from flask_abandon.jobs import get_queue, run_sweep, send_reminder
from flask_abandon.models import Contact, Journey, Reminder, utcnow
from flask_abandon.worker import run_worker

REDIS_URL = "redis://127.0.0.1:6379/14"
ITEMS = [{"sku": "TEA-1", "name": "Green tea", "unit_price": "12.80",
          "quantity": 2, "url": "https://shop.example.com/p/TEA-1"}]


class Sink:
    """Counts what a loopback SMTP server accepts."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_app(database_url: str, smtp_port: int) -> tuple[Flask, SQLAlchemy]:
    app = Flask("bench")
    app.config.update(
        SECRET_KEY="bench",
        SQLALCHEMY_DATABASE_URI=database_url,
        ABANDON_BASE_URL="https://shop.example.com",
        ABANDON_REDIS_URL=REDIS_URL,
        ABANDON_SHOP_NAME="Bench Tea",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
        MAIL_DEFAULT_SENDER="shop@example.com",
    )
    db = SQLAlchemy(app)
    Mail(app)
    Abandon(app, db=db)

    with app.app_context():
        db.create_all()

    return app, db


def seed(db: SQLAlchemy, carts: int, idle_since: t.Any) -> None:
    """``carts`` idle carts, each with a consenting contact of its own."""
    db.session.execute(
        sa.insert(Contact),
        [{"email": f"c{n}@example.com", "email_key": f"c{n}@example.com",
          "marketing_consent": True, "created_at": idle_since}
         for n in range(carts)],
    )
    db.session.execute(
        sa.insert(Journey),
        [{"key": f"k{n}", "kind": "cart", "status": "active", "contact_id": n + 1,
          "currency": "EUR", "value": 25.6, "item_count": 2, "data": {"items": ITEMS},
          "first_held_at": idle_since, "created_at": idle_since,
          "last_activity_at": idle_since}
         for n in range(carts)],
    )
    db.session.commit()


def bench_sweep(app: Flask, db: SQLAlchemy, carts: int) -> dict[str, float]:
    idle_since = utcnow() - timedelta(minutes=31)

    with app.app_context():
        seed(db, carts, idle_since)
        start = time.perf_counter()
        db.session.execute(
            sa.update(Journey).where(Journey.status == "active")
            .values(status="abandoned", abandoned_at=utcnow())
        )
        db.session.execute(
            sa.insert(Reminder),
            [{"journey_id": n + 1, "step": step, "template": "cart_reminder",
              "send_at": utcnow(), "created_at": utcnow()}
             for n in range(carts) for step in range(3)],
        )
        db.session.commit()
        bare = time.perf_counter() - start
        db.session.execute(sa.delete(Reminder))
        db.session.execute(
            sa.update(Journey).values(status="active", abandoned_at=None)
        )
        db.session.commit()

        start = time.perf_counter()
        result = run_sweep(app)
        swept = time.perf_counter() - start
        assert result.abandoned == carts, result

    return {"carts": carts, "bare_sql_s": round(bare, 3),
            "run_sweep_s": round(swept, 3), "ratio": round(swept / bare, 1),
            "carts_per_s": round(carts / swept)}


def bench_send(app: Flask, db: SQLAlchemy, sends: int, sink: Sink) -> dict[str, float]:
    with app.app_context():
        first = list(db.session.scalars(
            sa.select(Reminder.id).where(Reminder.step == 0).limit(sends)
        ))
        db.session.execute(
            sa.update(Reminder).where(Reminder.id.in_(first))
            .values(send_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        redis.Redis.from_url(REDIS_URL).flushdb()
        queue = get_queue(app)

        for reminder_id in first:
            queue.enqueue(send_reminder, reminder_id)

        mail = app.extensions["mail"]
        messages = [
            Message("You left something in your cart", recipients=[f"c{n}@example.com"],
                    body="Your cart: https://shop.example.com/abandon/r/x" * 5,
                    html="<p>Your cart</p>" * 20, sender="shop@example.com")
            for n in range(sends)
        ]

        start = time.perf_counter()

        for message in messages:
            with Connection(mail) as connection:
                connection.send(message)

        bare = time.perf_counter() - start

    before = sink.count
    start = time.perf_counter()
    run_worker(app, burst=True, fork=False)
    sent_time = time.perf_counter() - start
    assert sink.count - before == sends, (sink.count, before)
    return {"sends": sends, "flask_mail_only_s": round(bare, 3),
            "worker_s": round(sent_time, 3), "ratio": round(sent_time / bare, 1),
            "sends_per_s": round(sends / sent_time)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carts", type=int, default=5000)
    parser.add_argument("--sends", type=int, default=500)
    parser.add_argument("--database", help="SQLAlchemy URL; default a SQLite file")
    args = parser.parse_args()
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        app, db = make_app(url, port)
        redis.Redis.from_url(REDIS_URL).flushdb()

        try:
            result = {
                "database": url.split(":")[0],
                "sweep": bench_sweep(app, db, args.carts),
                "send": bench_send(app, db, min(args.sends, args.carts), sink),
            }
        finally:
            with app.app_context():
                db.drop_all()

            redis.Redis.from_url(REDIS_URL).flushdb()
            controller.stop()

    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""The sweep and the send job, against real Redis and a real SMTP server."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from conftest import ITEMS
from helpers import idle, minutes, only_journey, reminders_of
from rq import Queue

from flask_abandon.jobs import enqueue_reminders, get_queue, run_sweep, send_reminder
from flask_abandon.models import ReminderStatus, utcnow
from flask_abandon.tracking import record_payment
from flask_abandon.worker import run_worker

SEOUL = ZoneInfo("Asia/Seoul")


def start_cart(client, email="ann@example.com", items=ITEMS, **extra):
    response = client.post("/abandon/track",
                           json={"kind": "cart", "items": items, "email": email,
                                 **extra})
    assert response.status_code == 204, response.json


def abandon_now(app, db):
    """Make the only cart idle past its timeout and sweep; return its reminders."""
    now = utcnow()
    journey = only_journey(db)
    idle(db, journey.id, now - minutes(31))
    run_sweep(app, now=now)
    return reminders_of(db, journey.id)


@pytest.fixture(params=["America/Los_Angeles", "Asia/Seoul"])
def server_tz(request):
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param

    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before

    time.tzset()


def test_payment_before_the_send_time_stops_the_reminder(
    make_app, smtp, redis_conn, server_tz
):
    """Cart touched 23:50 in Seoul, timeout 30 min, first reminder 30 min
    later, paid at 00:30: no email, whatever the server's time zone."""
    app, db, _ = make_app({"ABANDON_CART_SEQUENCE": [timedelta(minutes=30)]})
    start_cart(app.test_client())
    touched = datetime(2026, 3, 1, 23, 50, tzinfo=SEOUL)
    paid_at = datetime(2026, 3, 2, 0, 30, tzinfo=SEOUL)

    with app.app_context():
        journey = only_journey(db)
        idle(db, journey.id, touched)
        run_sweep(app, now=touched + minutes(31))
        (reminder,) = reminders_of(db, journey.id)
        assert reminder.send_at == datetime(2026, 3, 2, 0, 50, tzinfo=SEOUL)

        queue = Queue("abandon", connection=redis_conn)
        (job_id,) = queue.scheduled_job_registry.get_job_ids()
        scheduled = queue.scheduled_job_registry.get_scheduled_time(job_id)
        assert scheduled.timestamp() == reminder.send_at.timestamp()

        record_payment(db.session, only_journey(db), "paid", now=paid_at)
        assert send_reminder(reminder.id, now=reminder.send_at) == "not claimed"
        assert reminders_of(db, journey.id)[0].status == ReminderStatus.CANCELLED

    assert smtp.received == []


def test_payment_a_second_before_the_claimed_send_stops_it(app, db, client, smtp,
                                                           redis_conn):
    start_cart(client)

    with app.app_context():
        first = abandon_now(app, db)[0]
        # A worker claims first; the payment lands before the stop check.
        journey = only_journey(db)
        journey.status = "converted"
        db.session.commit()
        assert send_reminder(first.id, now=first.send_at) == "skipped"
        assert reminders_of(db, journey.id)[0].reason == "completed"

    assert smtp.received == []


def test_worker_with_scheduler_sends_due_reminders(make_app, smtp, redis_conn):
    app, db, _ = make_app({"ABANDON_CART_SEQUENCE": [1]})
    start_cart(app.test_client())

    with app.app_context():
        now = utcnow()
        journey = only_journey(db)
        idle(db, journey.id, now - minutes(30) - timedelta(seconds=0.1))
        run_sweep(app, now=now)
        queue = Queue("abandon", connection=redis_conn)
        assert len(queue.scheduled_job_registry) == 1
        time.sleep(1)

    assert run_worker(app, burst=True, fork=False)
    assert len(smtp.received) == 1


def test_cli_worker_runs_the_scheduler(app, db, client, smtp, redis_conn):
    """The documented worker command must move scheduled jobs to the queue."""
    start_cart(client)

    with app.app_context():
        first = abandon_now(app, db)[0]
        first.send_at = utcnow() + timedelta(seconds=1)
        assert enqueue_reminders(get_queue(app), [first], utcnow()) == 1
        db.session.commit()
        journey_id = first.journey_id
        time.sleep(1.5)

    result = app.test_cli_runner().invoke(args=["abandon", "worker", "--burst"])
    assert result.exit_code == 0, result.output

    with app.app_context():
        assert reminders_of(db, journey_id)[0].status == ReminderStatus.SENT

    assert len(smtp.received) == 1


def test_corrected_email_gets_the_mail_with_current_items(app, db, client, smtp,
                                                         redis_conn):
    start_cart(client, email="ann@exmaple.com")

    with app.app_context():
        first = abandon_now(app, db)[0]

    start_cart(client, email="ann@example.com", items=ITEMS[:1])

    with app.app_context():
        assert send_reminder(first.id, now=first.send_at + minutes(31)) == "sent"

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["ann@example.com"]
    text = mail.part("plain")
    assert "Green tea" in text
    assert "Tea pot" not in text


def test_smtp_421_is_retried_with_backoff_and_delivered_once(
    app, db, client, smtp, redis_conn
):
    smtp.data_replies = ["421 Try again later", "421 Try again later"]
    start_cart(client)

    with app.app_context():
        first = abandon_now(app, db)[0]
        now = first.send_at
        outcomes, send_times = [], []

        for _ in range(4):
            outcomes.append(send_reminder(first.id, now=now))
            reminder = reminders_of(db, first.journey_id)[0]
            send_times.append(reminder.send_at)
            now = reminder.send_at

        assert outcomes == ["retry", "retry", "sent", "not claimed"]
        assert send_times[1] - send_times[0] > send_times[0] - first.send_at
        assert reminder.attempts == 3

    assert len(smtp.received) == 1


def test_permanent_refusal_fails_without_retry(app, db, client, smtp, redis_conn):
    smtp.data_replies = ["550 No such user"]
    start_cart(client)

    with app.app_context():
        first = abandon_now(app, db)[0]
        assert send_reminder(first.id, now=first.send_at) == "failed"
        reminder = reminders_of(db, first.journey_id)[0]
        assert reminder.status == ReminderStatus.FAILED
        assert "550" in reminder.reason


def test_malformed_address_is_never_scheduled_and_says_why(app, db, client):
    response = client.post("/abandon/track", json={"kind": "cart", "items": ITEMS,
                                                   "email": "ann.example.com"})
    assert response.status_code == 400
    assert "@-sign" in response.json["error"]
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS})

    with app.app_context():
        journey = only_journey(db)
        idle(db, journey.id, utcnow() - minutes(31))
        assert run_sweep(app).abandoned == 0
        assert reminders_of(db, journey.id) == []


def test_each_reminder_is_sent_once_however_often_its_job_runs(
    app, db, client, smtp, redis_conn
):
    start_cart(client)

    with app.app_context():
        first = abandon_now(app, db)[0]
        outcomes = [send_reminder(first.id, now=first.send_at) for _ in range(3)]

    assert outcomes == ["sent", "not claimed", "not claimed"]
    assert len(smtp.received) == 1


def test_redis_down_loses_nothing(app, db, client, smtp, redis_conn, caplog):
    start_cart(client)
    state = app.extensions["abandon"]
    state.__dict__["redis"] = redis.Redis(port=1, socket_connect_timeout=0.2)

    with app.app_context(), caplog.at_level(logging.WARNING):
        reminders = abandon_now(app, db)
        assert [r.enqueued_at for r in reminders] == [None] * 3
        assert "Redis is unreachable" in caplog.text

        state.__dict__["redis"] = redis_conn
        run_sweep(app)
        reminders = reminders_of(db, reminders[0].journey_id)
        assert all(r.enqueued_at is not None for r in reminders)
        queue = Queue("abandon", connection=redis_conn)
        assert len(queue.scheduled_job_registry) == 3


def test_empty_carts_and_old_carts_are_never_mailed(app, db, client, smtp,
                                                    redis_conn):
    client.post("/abandon/track", json={"kind": "cart", "items": [],
                                        "email": "ann@example.com"})

    with app.app_context():
        journey_id = only_journey(db).id
        idle(db, journey_id, utcnow() - minutes(40))
        assert run_sweep(app).abandoned == 0

    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS})

    with app.app_context():
        idle(db, journey_id, utcnow() - timedelta(days=8))
        result = run_sweep(app)
        assert (result.abandoned, result.expired) == (0, 1)
        assert only_journey(db).status == "expired"


def test_a_visitor_back_in_the_shop_postpones_the_next_reminder(
    app, db, client, smtp, redis_conn
):
    start_cart(client)

    with app.app_context():
        first = abandon_now(app, db)[0]

        # The visitor came back five minutes before the first reminder.
        due = first.send_at
        idle(db, first.journey_id, due - minutes(5))
        assert send_reminder(first.id, now=due) == "postponed"
        reminder = reminders_of(db, first.journey_id)[0]
        assert reminder.status == ReminderStatus.PLANNED
        assert reminder.send_at == due + minutes(25)

    assert smtp.received == []


def test_late_worker_sends_only_the_latest_due_reminder(app, db, client, smtp,
                                                        redis_conn):
    start_cart(client, consent=True)

    with app.app_context():
        first, second, third = abandon_now(app, db)
        late = second.send_at + minutes(1)
        assert send_reminder(first.id, now=late) == "skipped"
        assert reminders_of(db, first.journey_id)[0].reason.startswith("superseded")
        assert send_reminder(second.id, now=late) == "sent"

    assert len(smtp.received) == 1


def test_sweep_warns_when_no_scheduler_sends_overdue_reminders(
    app, db, client, redis_conn, caplog
):
    start_cart(client)

    with app.app_context():
        first = abandon_now(app, db)[0]
        later = first.send_at + minutes(10)

        with caplog.at_level(logging.WARNING):
            result = run_sweep(app, now=later)

    assert result.overdue == 1
    assert "No RQ scheduler is running; 1 reminders are overdue" in caplog.text

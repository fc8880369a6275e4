"""A cart from tracking to a sent reminder, a restored cart and a purchase."""

from __future__ import annotations

from urllib.parse import urlsplit

from conftest import ITEMS
from helpers import idle, link, minutes, only_journey, reminders_of
from rq import Queue

from flask_abandon.jobs import run_sweep, send_reminder
from flask_abandon.models import JourneyStatus, ReminderStatus, utcnow


def test_cart_is_reminded_restored_and_recovered(app, db, client, smtp, redis_conn):
    response = client.post(
        "/abandon/track",
        json={"kind": "cart", "items": ITEMS, "email": "Ann@Example.com",
              "locale": "de_DE", "currency": "EUR"},
    )
    assert response.status_code == 204, response.json

    with app.app_context():
        journey = only_journey(db)
        assert journey.item_count == 3
        assert str(journey.value) == "55.6000"
        now = utcnow()
        idle(db, journey.id, now - minutes(31))
        result = run_sweep(app, now=now)
        assert result.abandoned == 1
        reminders = reminders_of(db, journey.id)
        assert [r.status for r in reminders] == [ReminderStatus.PLANNED] * 3
        assert all(r.enqueued_at is not None for r in reminders)
        queue = Queue("abandon", connection=redis_conn)
        assert len(queue.scheduled_job_registry.get_job_ids()) == 3

        first = reminders[0]
        assert send_reminder(first.id, now=first.send_at) == "sent"

    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert mail.rcpt_tos == ["Ann@example.com"]
    message = mail.message
    assert message["Subject"] == "You left something in your cart"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.part("plain")
    assert "2 × Green tea: 25,60\xa0€" in text
    assert "Total: 55,60\xa0€" in text
    assert "55,60\xa0€" in mail.part("html")

    recover_url = link(text, "r")
    assert recover_url.startswith("https://shop.example.test/abandon/r/")

    fresh = app.test_client()
    response = fresh.get(urlsplit(recover_url).path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/cart"
    assert fresh.get("/cart").json == {"TEA-1": 2, "POT-1": 1}

    assert fresh.post("/pay/paid").json == {"status": "recovered"}

    with app.app_context():
        journey = only_journey(db)
        assert journey.status == JourneyStatus.RECOVERED
        assert str(journey.revenue) == "55.6000"
        statuses = [r.status for r in reminders_of(db, journey.id)]
        assert statuses == ["sent", "cancelled", "cancelled"]
        second = reminders_of(db, journey.id)[1]
        assert send_reminder(second.id, now=second.send_at) == "not claimed"

    assert len(smtp.received) == 1

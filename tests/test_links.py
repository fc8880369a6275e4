"""Recovery links and unsubscribe pages."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from conftest import ITEMS
from helpers import idle, link, minutes, only_journey, reminders_of

from flask_abandon.jobs import run_sweep, send_reminder
from flask_abandon.models import ReminderStatus, utcnow
from flask_abandon.tokens import make_recovery_token, make_unsubscribe_token


def sent_reminder(app, db, client, smtp, email="ann@example.com"):
    """Track a cart, abandon it, send its first reminder; return the email."""
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS,
                                        "email": email})

    with app.app_context():
        journey = only_journey(db)
        now = utcnow()
        idle(db, journey.id, now - minutes(31))
        run_sweep(app, now=now)
        first = reminders_of(db, journey.id)[0]
        assert send_reminder(first.id, now=first.send_at) == "sent"

    return smtp.received[-1]


def path(url):
    return urlsplit(url).path


def test_tampered_or_foreign_tokens_are_refused(app, db, client, smtp, redis_conn):
    mail = sent_reminder(app, db, client, smtp)
    recover = path(link(mail.part("plain"), "r"))
    unsubscribe = path(link(mail.part("plain"), "u"))
    fresh = app.test_client()

    assert fresh.get(recover[:-2] + "xx").status_code == 400
    # A token made for one purpose is no good for another.
    assert fresh.get(recover.replace("/r/", "/u/")).status_code == 400
    assert fresh.get(unsubscribe.replace("/u/", "/r/")).status_code == 400

    with app.app_context():
        app.secret_key = "another key"
        forged = make_recovery_token(app, only_journey(db).key, None)

    app.secret_key = "test secret"
    response = fresh.get(f"/abandon/r/{forged}")
    assert response.status_code == 400
    assert b"not valid" in response.data


def test_expired_link_gets_a_page_saying_so(app, db, abandon, client):
    app.extensions["abandon"].settings.__dict__["link_max_age"] = minutes(0)
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS})

    with app.app_context():
        token = make_recovery_token(app, only_journey(db).key, None)

    time.sleep(1.1)
    response = app.test_client().get(f"/abandon/r/{token}")
    assert response.status_code == 410
    assert b"expired" in response.data


def test_link_of_a_bought_cart_says_already_ordered(app, db, client, smtp,
                                                   redis_conn):
    mail = sent_reminder(app, db, client, smtp)
    client.post("/pay/paid")
    response = app.test_client().get(path(link(mail.part("plain"), "r")))
    assert response.status_code == 200
    assert b"already ordered" in response.data


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_link_of_a_gone_cart_says_no_longer_available(app, db, client, smtp,
                                                      redis_conn, how):
    mail = sent_reminder(app, db, client, smtp)

    if how == "emptied":
        client.post("/abandon/track", json={"kind": "cart", "items": []})
    else:
        with app.app_context():
            db.session.delete(only_journey(db))
            db.session.commit()

    fresh = app.test_client()
    response = fresh.get(path(link(mail.part("plain"), "r")))
    assert response.status_code in (404, 410)
    assert b"no longer available" in response.data
    assert fresh.get("/cart").json == {}


def test_opening_the_link_records_the_click(app, db, client, smtp, redis_conn):
    mail = sent_reminder(app, db, client, smtp)
    app.test_client().get(path(link(mail.part("plain"), "r")))

    with app.app_context():
        journey = only_journey(db)
        assert journey.clicked_at is not None
        assert [e.type for e in journey.events][-1] == "clicked"


def test_unsubscribe_get_asks_and_post_acts(app, db, client, smtp, redis_conn):
    mail = sent_reminder(app, db, client, smtp, email="Ann@Example.com")
    url = path(link(mail.part("plain"), "u"))
    assert mail.message["List-Unsubscribe"] == f"<{link(mail.part('plain'), 'u')}>"
    scanner = app.test_client()

    page = scanner.get(url)
    assert page.status_code == 200
    assert b'<form method="post">' in page.data

    with app.app_context():
        journey = only_journey(db)
        assert journey.contact.unsubscribed_at is None

    # What a mail client sends for the one-click header (RFC 8058).
    response = scanner.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert b"unsubscribed" in response.data

    with app.app_context():
        journey = only_journey(db)
        assert journey.contact.unsubscribed_at is not None
        statuses = [r.status for r in reminders_of(db, journey.id)]
        assert statuses == [ReminderStatus.SENT] + [ReminderStatus.CANCELLED] * 2


def test_unsubscribed_address_in_any_case_gets_no_later_cart_mail(
    app, db, client, smtp, redis_conn
):
    with app.app_context():
        token = make_unsubscribe_token(app, "ann@example.com")

    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS,
                                        "email": "ANN@example.com"})
    assert client.post(f"/abandon/u/{token}").status_code == 200
    other = app.test_client()
    other.post("/abandon/track", json={"kind": "cart", "items": ITEMS,
                                       "email": "Ann@Example.com"})

    with app.app_context():
        now = utcnow()
        for journey_id in (1, 2):
            idle(db, journey_id, now - minutes(31))
        assert run_sweep(app, now=now).abandoned == 0


def test_link_never_logs_in_or_leaks_another_cart(app, db, client, smtp,
                                                  redis_conn):
    mail = sent_reminder(app, db, client, smtp)
    stranger = app.test_client()
    stranger.post("/abandon/track", json={"kind": "cart", "items": ITEMS[1:]})
    response = stranger.get(path(link(mail.part("plain"), "r")))
    assert response.status_code == 302

    with stranger.session_transaction() as session:
        assert set(session) == {"_abandon", "cart"}

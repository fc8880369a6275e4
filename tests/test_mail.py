"""Reminder emails: rendering, headers, overrides, currencies, suppression."""

from __future__ import annotations

from decimal import Decimal
from email.headerregistry import Address

import jinja2
import pytest
from conftest import ITEMS
from flask_mail import email_dispatched
from helpers import idle, minutes, only_journey, reminders_of

from flask_abandon import TRANSLATIONS_DIR
from flask_abandon.jobs import run_sweep, send_reminder
from flask_abandon.models import ReminderStatus, utcnow
from flask_abandon.money import format_money


def remind(app, db, client, **track):
    """Track a cart with ``track`` fields, abandon it, send the first reminder."""
    body = {"kind": "cart", "items": ITEMS, "email": "ann@example.com", **track}
    response = client.post("/abandon/track", json=body)
    assert response.status_code == 204, response.json

    with app.app_context():
        journey = only_journey(db)
        now = utcnow()
        idle(db, journey.id, now - minutes(31))
        run_sweep(app, now=now)
        first = reminders_of(db, journey.id)[0]
        return send_reminder(first.id, now=first.send_at)


def override_templates(app, templates):
    """Put host templates in front of the package's, as a host's folder would."""
    app.jinja_loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader(templates), app.jinja_loader]
    )


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("15000", "KRW", "ko_KR", "₩15,000"),
        ("12.80", "EUR", "de_DE", "12,80\xa0€"),
        ("12.80", "EUR", "en", "€12.80"),
        ("1234.5", "USD", "en_US", "$1,234.50"),
    ],
)
def test_money_follows_currency_and_locale(amount, currency, locale, expected):
    assert format_money(Decimal(amount), currency, locale) == expected


def test_host_templates_win_and_korean_survives(make_app, smtp, redis_conn):
    app, db, _ = make_app(
        {"MAIL_DEFAULT_SENDER": ("한국 찻집", "shop@example.com")}
    )
    subject = "장바구니에 {{ items|length }}개 상품이 남아 있어요"
    override_templates(app, {"abandon/email/cart_reminder.subject.txt": subject})
    items = [{"sku": "K-1", "name": "녹차", "unit_price": "15000", "quantity": 1}]
    assert remind(app, db, app.test_client(), items=items, currency="KRW",
                  locale="ko_KR") == "sent"

    message = smtp.received[0].message
    assert message["Subject"] == "장바구니에 1개 상품이 남아 있어요"
    (sender,) = message["From"].addresses
    assert sender == Address("한국 찻집", addr_spec="shop@example.com")
    assert "₩15,000" in smtp.received[0].part("plain")
    assert "녹차" in smtp.received[0].part("html")


def test_line_breaks_in_shopper_values_cannot_add_headers(app, db, client, smtp,
                                                          redis_conn):
    override_templates(
        app, {"abandon/email/cart_reminder.subject.txt": "For {{ contact.name }}"}
    )
    name = "Ann\r\nBcc: eve@example.com\nX-Evil: 1"
    assert remind(app, db, client, name=name) == "sent"

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["ann@example.com"]
    assert mail.message["Bcc"] is None
    assert mail.message["X-Evil"] is None
    assert mail.message["Subject"] == "For Ann Bcc: eve@example.com X-Evil: 1"


def test_suppression_is_decided_at_send_time(make_app, smtp, redis_conn):
    app, db, _ = make_app({"TESTING": False})
    del app.config["MAIL_SUPPRESS_SEND"]
    app.config["TESTING"] = True
    dispatched = []

    with email_dispatched.connected_to(lambda app, message: dispatched.append(message)):
        assert remind(app, db, app.test_client()) == "sent"

    assert smtp.received == []
    assert len(dispatched) == 1


def test_send_emails_off_sends_nothing_and_says_so(make_app, smtp, redis_conn):
    app, db, _ = make_app({"ABANDON_SEND_EMAILS": False})
    assert remind(app, db, app.test_client()) == "skipped"
    assert smtp.received == []

    with app.app_context():
        reminder = reminders_of(db, only_journey(db).id)[0]
        assert "ABANDON_SEND_EMAILS" in reminder.reason


def test_unreachable_mail_server_is_retried(make_app, smtp, redis_conn):
    app, db, _ = make_app({"MAIL_PORT": 1})
    assert remind(app, db, app.test_client()) == "retry"

    with app.app_context():
        reminder = reminders_of(db, only_journey(db).id)[0]
        assert reminder.status == ReminderStatus.PLANNED
        assert "unreachable" in reminder.reason


@pytest.mark.parametrize(
    ("locale", "subject", "greeting"),
    [("de_DE", "Sie haben etwas im Warenkorb vergessen", "Hallo,"),
     ("en", "You left something in your cart", "Hello,")],
)
def test_emails_are_written_in_the_readers_language(
    make_app, smtp, redis_conn, locale, subject, greeting
):
    flask_babel = pytest.importorskip("flask_babel")
    app, db, _ = make_app(
        {"BABEL_TRANSLATION_DIRECTORIES": f"translations;{TRANSLATIONS_DIR}"}
    )
    flask_babel.Babel(app)
    assert remind(app, db, app.test_client(), locale=locale) == "sent"

    (mail,) = smtp.received
    assert mail.message["Subject"] == subject
    assert mail.part("plain").startswith(greeting)

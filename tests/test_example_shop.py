"""The whole story, over HTTP, in example_shop: a cart is left, a reminder
arrives through real Redis and SMTP, its link restores the cart in a fresh
browser, and paying stops the rest."""

from __future__ import annotations

import time
import typing as t

import pytest
import requests
import sqlalchemy as sa
from conftest import REDIS_URL, free_port
from helpers import link, serving

from example_shop import create_app
from example_shop.extensions import db
from flask_abandon.models import Journey, Reminder
from flask_abandon.worker import run_worker


@pytest.fixture
def shop(database_url, smtp, redis_conn, tmp_path) -> t.Iterator[t.Any]:
    port = free_port()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "e2e",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_PORT": smtp.port,
            "MAIL_SUPPRESS_SEND": False,
            "ABANDON_BASE_URL": f"http://127.0.0.1:{port}",
            "ABANDON_REDIS_URL": REDIS_URL,
            "ABANDON_CART_TIMEOUT": 1,
            "ABANDON_CART_SEQUENCE": [1, 3600],
            "SHOP_MAIL_DIR": str(tmp_path / "mail"),
        }
    )
    with serving(app, port, db) as base:
        app.config["base"] = base
        yield app


def reminder_statuses(app: t.Any) -> list[str]:
    with app.app_context():
        query = sa.select(Reminder.status).order_by(Reminder.id)
        return list(db.session.scalars(query))


def test_abandoned_cart_is_reminded_restored_and_bought(shop, smtp):
    base = shop.config["base"]
    shopper = requests.Session()
    assert shopper.get(f"{base}/").status_code == 200
    shopper.post(f"{base}/cart/add", data={"sku": "TEA-1", "quantity": "2"})
    response = shopper.post(f"{base}/checkout", data={"email": "Ann@Example.com"})
    assert response.status_code == 200  # redirected to the payment page
    declined = shopper.post(f"{base}/pay", data={"outcome": "failed"})
    assert declined.status_code == 402

    # The shopper leaves. The sweep (as cron would run it) finds the cart.
    time.sleep(1.2)
    result = shop.test_cli_runner().invoke(args=["abandon", "sweep"])
    assert "1 abandoned" in result.output, result.output
    time.sleep(1.2)
    assert run_worker(shop, burst=True, fork=False)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["Ann@example.com"]
    text = mail.part("plain")
    assert "Sencha" in text
    recover_url = link(text, "r")
    assert recover_url.startswith(base)

    # Another device: no cookies at all.
    phone = requests.Session()
    cart_page = phone.get(recover_url)
    assert cart_page.url == f"{base}/cart"
    assert "Sencha" in cart_page.text
    paid = phone.post(f"{base}/pay", data={"outcome": "paid"})
    assert paid.status_code == 200
    assert "/order/" in paid.url

    with shop.app_context():
        journey = db.session.scalars(sa.select(Journey)).one()
        assert journey.status == "recovered"

    assert reminder_statuses(shop) == ["sent", "cancelled"]
    run_worker(shop, burst=True, fork=False)
    assert reminder_statuses(shop) == ["sent", "cancelled"]
    assert len(smtp.received) == 1

    # The link now says the cart was bought, and shows nothing else.
    again = requests.get(recover_url)
    assert "already ordered" in again.text

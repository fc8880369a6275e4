"""The admin in a real browser: example_shop behind a real server on
127.0.0.1, system Chromium driven by Playwright.

Set ``ABANDON_DASHBOARD_PNG`` to a path to save a screenshot of the
dashboard there (``docs/dashboard.png`` is made that way).
"""

from __future__ import annotations

import os
import random
import shutil
import typing as t
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import ITEMS, REDIS_URL, free_port
from helpers import serving

from example_shop import create_app
from example_shop.extensions import db
from flask_abandon.models import Contact, Journey, Reminder, utcnow

CHROMIUM = "/usr/bin/chromium"
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"no system Chromium at {CHROMIUM} (apt-get install chromium)",
)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PASSWORD = "demo"  # example_shop's SHOP_ADMIN_PASSWORD


def seed(weeks: int = 12) -> list[int]:
    """Carts over the past weeks, some bought, some recovered, the recent
    ones abandoned; returns the abandoned ones' ids."""
    now = utcnow()
    pick = random.Random(7)
    journeys = []

    for n in range(weeks * 25):
        created = now - timedelta(hours=pick.uniform(1, weeks * 7 * 24))
        contact = Contact(email=f"shopper{n}@example.com",
                          email_key=f"shopper{n}@example.com",
                          name=f"Shopper {n}")
        roll = pick.random()
        status = ("converted" if roll < 0.3 else "recovered" if roll < 0.42
                  else "abandoned")
        journeys.append(Journey(
            kind="cart", contact=contact, currency="EUR",
            value=Decimal("55.60"), item_count=3, data={"items": ITEMS},
            status=status, created_at=created, first_held_at=created,
            last_activity_at=created + timedelta(minutes=5),
            revenue=Decimal("55.60") if status != "abandoned" else None,
        ))

    db.session.add_all(journeys)
    db.session.commit()
    return [j.id for j in journeys if j.status == "abandoned"]


@pytest.fixture
def shop(smtp: t.Any, redis_conn: t.Any, tmp_path: t.Any) -> t.Iterator[t.Any]:
    port = free_port()
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "browser",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        "MAIL_PORT": smtp.port,
        "MAIL_SUPPRESS_SEND": False,
        "ABANDON_BASE_URL": f"http://127.0.0.1:{port}",
        "ABANDON_REDIS_URL": REDIS_URL,
        "ABANDON_TIMEZONE": "Europe/Berlin",
        "SHOP_MAIL_DIR": str(tmp_path / "mail"),
    })

    with app.app_context():
        app.config["abandoned"] = seed()

    with serving(app, port, db) as base:
        app.config["base"] = base
        yield app


def test_owner_filters_abandoned_carts_and_resends_one(shop: t.Any, smtp: t.Any):
    base = shop.config["base"]

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda dialog: dialog.accept())

        assert page.goto(f"{base}/abandon/admin/carts/").status == 403

        page.goto(f"{base}/login")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/abandon/admin/")
        assert "Abandonment" in page.inner_text("body")

        png = os.environ.get("ABANDON_DASHBOARD_PNG")

        if png:
            page.screenshot(path=png, full_page=True)

        page.goto(f"{base}/abandon/admin/carts/")
        assert "flt0_status_is=abandoned" in page.url
        statuses = page.locator("td.col-status").all_inner_texts()
        assert statuses and {s.strip() for s in statuses} == {"abandoned"}

        row_id = page.locator("input.action-checkbox").first.get_attribute("value")
        page.check(f"input.action-checkbox[value='{row_id}']")
        page.click("text=With selected")
        page.click("text=Resend reminder now")
        page.wait_for_selector("text=Reminder sent for 1 cart")

        page.goto(f"{base}/abandon/admin/reminders/")
        row = page.locator("table tbody tr").first.inner_text()
        assert "manual" in row and "sent" in row and f"cart {row_id}" in row
        browser.close()

    (message,) = smtp.received
    with shop.app_context():
        reminder = db.session.scalars(sa.select(Reminder)).one()
        assert reminder.journey_id == int(row_id)
        assert message.rcpt_tos == [reminder.journey.contact.email]


def test_checkout_email_is_captured_as_it_is_typed(shop: t.Any):
    """The shop's checkout includes abandon.js: a guest who types an address
    and leaves without submitting can still be reminded."""
    base = shop.config["base"]

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{base}/product/TEA-1")
        page.click("text=Add to cart")
        page.goto(f"{base}/checkout")
        page.type("#email", "not-yet-an-addr", delay=20)
        page.wait_for_timeout(1200)

        with shop.app_context():
            assert newest_cart_email() is None

        page.fill("#email", "")
        page.type("#email", "guest@example.com", delay=20)

        for _ in range(50):
            with shop.app_context():
                if newest_cart_email() == "guest@example.com":
                    break

            page.wait_for_timeout(100)
        else:
            pytest.fail("the typed address never reached the journey")

        browser.close()


def newest_cart_email() -> str | None:
    journey = db.session.scalars(
        sa.select(Journey).filter_by(kind="cart").order_by(Journey.id.desc())
    ).first()
    return journey.contact.email if journey and journey.contact else None

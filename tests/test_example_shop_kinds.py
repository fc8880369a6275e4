"""Bookings, forms and browsing in example_shop, over HTTP, end to end: left,
abandoned, the right email arriving through real Redis and SMTP, its link
bringing the journey back in a fresh browser, and completing stopping the
rest."""

from __future__ import annotations

import json
import time
import typing as t

import pytest
import requests
import sqlalchemy as sa
from conftest import REDIS_URL, free_port
from helpers import link, serving

from example_shop import create_app
from example_shop.extensions import db
from flask_abandon.jobs import run_sweep
from flask_abandon.models import Journey, Reminder
from flask_abandon.worker import run_worker

SEARCH = {"date": "2027-05-01", "party": "2", "level": "any"}


@pytest.fixture
def shop(database_url, smtp, redis_conn, tmp_path) -> t.Iterator[t.Any]:
    port = free_port()
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "kinds",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_PORT": smtp.port,
        "MAIL_SUPPRESS_SEND": False,
        "ABANDON_BASE_URL": f"http://127.0.0.1:{port}",
        "ABANDON_REDIS_URL": REDIS_URL,
        "ABANDON_CART_TIMEOUT": 1,
        "ABANDON_CART_SEQUENCE": [1],
        "ABANDON_BOOKING_TIMEOUT": 1,
        "ABANDON_BOOKING_SEQUENCE": [(1, "booking_reminder"),
                                     (3600, "booking_all_here")],
        "ABANDON_FORM_TIMEOUT": 1,
        "ABANDON_FORM_SEQUENCE": [(1, "form_reminder")],
        "ABANDON_BROWSE_TIMEOUT": 1,
        "ABANDON_BROWSE_SEQUENCE": [(1, "browse_still_looking")],
        "SHOP_MAIL_DIR": str(tmp_path / "mail"),
    })

    with serving(app, port, db) as base:
        app.config["base"] = base
        yield app


def remind(shop: t.Any) -> None:
    """Let the journeys go idle, sweep, and run the worker once all is due."""
    time.sleep(1.1)

    with shop.app_context():
        run_sweep(shop)

    time.sleep(1.1)
    run_worker(shop, burst=True, fork=False)


def journeys(shop: t.Any, kind: str) -> list[Journey]:
    with shop.app_context():
        return list(db.session.scalars(sa.select(Journey).filter_by(kind=kind)))


def statuses(shop: t.Any, kind: str) -> list[str]:
    with shop.app_context():
        query = (sa.select(Reminder.status).join(Reminder.journey)
                 .where(Journey.kind == kind).order_by(Reminder.id))
        return list(db.session.scalars(query))


def book_until_deposit(base: str, visitor: requests.Session, consent: bool) -> None:
    visitor.get(f"{base}/classes/", params=SEARCH)
    visitor.post(f"{base}/classes/select/1")
    details = {"name": "Ann", "email": "ann@example.com"}

    if consent:
        details["consent"] = "yes"

    visitor.post(f"{base}/classes/details", data=details)
    declined = visitor.post(f"{base}/classes/pay", data={"outcome": "failed"})
    assert declined.status_code == 402


def club_member(base: str, name: str) -> requests.Session:
    """A visitor who joined the tea club, saying yes to news."""
    visitor = requests.Session()
    visitor.post(f"{base}/signup/account", data={
        "email": f"{name.lower()}@example.com", "password": "long-enough"})
    visitor.post(f"{base}/signup/profile", data={"name": name})
    visitor.post(f"{base}/signup/preferences", data={"consent": "yes"})
    return visitor


def test_booking_is_reminded_restored_and_booked(shop, smtp):
    base = shop.config["base"]
    book_until_deposit(base, requests.Session(), consent=True)
    remind(shop)

    (mail,) = smtp.received
    assert mail.message["Subject"] == "Continue planning your stay with Tea Shop"
    text = mail.part("plain")
    assert "Matcha whisking for beginners" in text
    assert "Search again:" in text

    search_url = text.split("Search again: ")[1].split()[0]
    stranger = requests.Session()
    found = stranger.get(search_url)
    assert "date=2027-05-01" in found.url and "Matcha whisking" in found.text

    phone = requests.Session()
    details = phone.get(link(text, "r"))
    assert details.url == f"{base}/classes/details"
    assert "Matcha whisking for beginners" in details.text
    booked = phone.post(f"{base}/classes/pay", data={"outcome": "paid"})
    assert "You are booked" in booked.text

    (journey,) = journeys(shop, "booking")
    assert journey.status == "recovered"
    assert statuses(shop, "booking") == ["sent", "cancelled"]


def test_a_full_class_gets_search_again_instead(shop, smtp):
    base = shop.config["base"]
    book_until_deposit(base, requests.Session(), consent=True)
    other = requests.Session()
    other.get(f"{base}/classes/", params={**SEARCH, "party": "5"})
    other.post(f"{base}/classes/select/1")
    other.post(f"{base}/classes/details", data={"email": "cy@example.com"})
    assert "You are booked" in other.post(f"{base}/classes/pay",
                                          data={"outcome": "paid"}).text
    remind(shop)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["ann@example.com"]
    assert mail.message["Subject"].startswith("Your choice has been taken")
    assert "no longer available" in mail.part("plain")


def test_signup_form_resumes_at_its_step_without_the_password(shop, smtp):
    base = shop.config["base"]
    visitor = requests.Session()
    visitor.post(f"{base}/signup/account",
                 data={"email": "bo@example.com", "password": "oolong-secret-1"})
    visitor.post(f"{base}/signup/profile", data={"name": "Bo", "company": "Tea & Co"})
    remind(shop)

    (mail,) = smtp.received
    assert mail.message["Subject"] == "Your signup at Tea Shop is saved"
    resumed = requests.Session().get(link(mail.part("plain"), "r"))
    assert resumed.url == f"{base}/signup/preferences"

    (journey,) = journeys(shop, "form")
    stored = json.dumps(journey.data)
    assert "oolong-secret-1" not in stored
    assert journey.data["values"] == {"name": "Bo", "company": "Tea & Co"}
    assert "password" in journey.data["filled"]

    with shop.app_context():
        everything = " ".join(
            json.dumps(row) for row in db.session.execute(
                sa.text("SELECT data FROM abandon_journey")
            ).scalars()
        )

    assert "oolong-secret-1" not in everything

    # Going back to the profile shows what was kept; finishing completes it.
    profile = requests.Session()
    profile.get(link(mail.part("plain"), "r"))
    assert 'value="Tea &amp; Co"' in profile.get(f"{base}/signup/profile").text
    profile.post(f"{base}/signup/preferences", data={"favourite_tea": "oolong"})
    assert journeys(shop, "form")[0].status in ("converted", "recovered")


def test_browsing_is_reminded_with_ratings_and_stops_at_the_cart(shop, smtp):
    base = shop.config["base"]
    visitor = club_member(base, "Di")
    visitor.get(f"{base}/product/TEA-3")
    visitor.get(f"{base}/product/POT-1")
    remind(shop)

    (mail,) = smtp.received
    assert mail.message["Subject"] == "Still looking, Di?"
    html = mail.part("html")
    assert "Darjeeling first flush" in html and "★ 4.8" in html
    assert "“Flowery and light, worth every cent.”" in html
    page = requests.Session().get(link(mail.part("plain"), "r"))
    assert page.text.index("Cast iron tea pot") < page.text.index("Darjeeling")

    # Putting something in the cart ends the browsing: recovered, since the
    # email's link was opened first.
    visitor.get(f"{base}/product/TEA-1")
    visitor.post(f"{base}/cart/add", data={"sku": "TEA-1", "quantity": "1"})
    assert [j.status for j in journeys(shop, "browse")] == ["recovered"]
    assert statuses(shop, "browse") == ["sent"]


def test_one_email_a_day_the_cart_first(shop, smtp):
    base = shop.config["base"]
    visitor = club_member(base, "Ed")
    visitor.get(f"{base}/product/TEA-4")
    visitor.post(f"{base}/cart/add", data={"sku": "TEA-2", "quantity": "1"})
    visitor.get(f"{base}/product/CUP-1")
    remind(shop)

    (mail,) = smtp.received
    assert "in your cart" in mail.part("plain")
    assert statuses(shop, "browse") == ["skipped"]

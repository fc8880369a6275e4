"""Bookings, forms and browsing in example_shop, over HTTP, end to end: left,
abandoned, the right email arriving through real Redis and SMTP, its link
bringing the journey back in a fresh browser, and completing stopping the
rest."""

from __future__ import annotations

import json
import time
import typing as t
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from conftest import REDIS_URL, free_port
from helpers import link, serving
from rq.worker.base import BaseWorker

from example_shop import create_app
from example_shop.extensions import db
from flask_abandon.models import Journey, Reminder
from flask_abandon.worker import run_worker

DAY = (date.today() + timedelta(days=30)).isoformat()
SEARCH = {"date": DAY, "party": "2", "level": "beginner"}
PASSWORD = "oolong-secret-1"


@pytest.fixture(autouse=True)
def quiet_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Burst workers that do not listen for commands over Redis pub/sub.

    RQ 3.0 stops its pub/sub thread with redis-py 8.2's ``stop()``, which
    waits for the thread, and the thread may first sit out a 60 second
    ``get_message``. Burst workers here take no commands anyway.
    """
    monkeypatch.setattr(BaseWorker, "subscribe", lambda self: None)


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
        "ABANDON_SWEEP_INTERVAL": 3600,
        "ABANDON_CONTACT_COOLDOWN": timedelta(days=1),
        "ABANDON_CART_TIMEOUT": 1,
        "ABANDON_CART_SEQUENCE": [1, 3600],
        "ABANDON_BOOKING_TIMEOUT": 1,
        "ABANDON_BOOKING_SEQUENCE": [(1, "booking_reminder"),
                                     (3600, "booking_all_here")],
        "ABANDON_FORM_TIMEOUT": 1,
        "ABANDON_FORM_SEQUENCE": [(1, "form_reminder"), (3600, "form_reminder")],
        "ABANDON_BROWSE_TIMEOUT": 1,
        "ABANDON_BROWSE_SEQUENCE": [(1, "browse_still_looking"),
                                    (3600, "browse_similar")],
        "SHOP_MAIL_DIR": str(tmp_path / "mail"),
    })

    with serving(app, port, db) as base:
        app.config["base"] = base
        yield app


def remind(shop: t.Any, abandoned: int) -> None:
    """Let the journeys go idle, sweep as cron would, and run the worker once
    the first reminders are due (1 s timeout, then 1 s)."""
    time.sleep(1.1)
    result = shop.test_cli_runner().invoke(args=["abandon", "sweep"])
    assert f"{abandoned} abandoned" in result.output, result.output
    time.sleep(1.1)
    assert run_worker(shop, burst=True, fork=False)


def journeys(shop: t.Any, kind: str) -> list[Journey]:
    with shop.app_context():
        query = sa.select(Journey).filter_by(kind=kind).order_by(Journey.id)
        return list(db.session.scalars(query))


def reminders(shop: t.Any, kind: str) -> list[Reminder]:
    with shop.app_context():
        query = (sa.select(Reminder).join(Reminder.journey)
                 .where(Journey.kind == kind).order_by(Reminder.id))
        return list(db.session.scalars(query))


def statuses(shop: t.Any, kind: str) -> list[str]:
    return [reminder.status for reminder in reminders(shop, kind)]


def no_more_mail(shop: t.Any, smtp: t.Any) -> None:
    """Whatever is still queued sends nothing more."""
    sent = len(smtp.received)
    run_worker(shop, burst=True, fork=False)
    assert len(smtp.received) == sent


def session_of(shop: t.Any, visitor: requests.Session) -> dict[str, t.Any]:
    """What the shop keeps in a visitor's session cookie."""
    serializer = shop.session_interface.get_signing_serializer(shop)
    return dict(serializer.loads(visitor.cookies["session"]))


def database_text(shop: t.Any) -> str:
    """Every row of every table, as one string to search."""
    with shop.app_context():
        return json.dumps(
            [[list(row) for row in db.session.execute(sa.select(table))]
             for table in db.metadata.sorted_tables],
            default=str,
        )


def labelled_link(text: str, label: str) -> str:
    """The URL after ``label`` in a plain-text email."""
    return text.split(f"{label}: ")[1].split()[0]


def book_until_deposit(base: str, visitor: requests.Session, consent: bool) -> None:
    assert visitor.get(f"{base}/classes/", params=SEARCH).status_code == 200
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
    done = visitor.post(f"{base}/signup/preferences", data={"consent": "yes"})
    assert done.url == f"{base}/signup/done"
    return visitor


def test_booking_is_reminded_restored_and_booked(shop, smtp):
    base = shop.config["base"]
    book_until_deposit(base, requests.Session(), consent=True)
    (journey,) = journeys(shop, "booking")
    assert journey.step == "payment" and journey.payment == "failed"
    remind(shop, abandoned=1)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["ann@example.com"]
    assert mail.message["Subject"] == "Continue planning your stay with Tea Shop"
    text = mail.part("plain")
    assert "Your choice: Matcha whisking for beginners" in text
    assert f"Dates: {DAY}" in text and "Guests: 2" in text
    assert "Price: €90.00" in text
    assert "call +49 30 1234 5678" in text

    # "Search again" runs the saved search, in any browser.
    found = requests.Session().get(labelled_link(text, "Search again"))
    assert found.status_code == 200
    assert urlsplit(found.url).path == "/classes/"
    assert parse_qs(urlsplit(found.url).query) == {
        "date": [DAY], "party": ["2"], "level": ["beginner"]}
    assert "Matcha whisking for beginners" in found.text

    # "Continue planning" brings back the class, and the guest: on to pay.
    phone = requests.Session()
    deposit = phone.get(labelled_link(text, "Continue planning"))
    assert deposit.url == f"{base}/classes/pay"
    assert "Matcha whisking for beginners" in deposit.text and "Ann" in deposit.text
    booked = phone.post(f"{base}/classes/pay", data={"outcome": "paid"})
    assert "You are booked" in booked.text and "/classes/booked/" in booked.url

    (journey,) = journeys(shop, "booking")
    assert journey.status == "recovered"
    assert statuses(shop, "booking") == ["sent", "cancelled"]
    no_more_mail(shop, smtp)


def test_a_full_class_gets_search_again_instead(shop, smtp):
    base = shop.config["base"]
    book_until_deposit(base, requests.Session(), consent=True)

    # Somebody else takes 5 of the 6 seats: Ann's 2 no longer fit.
    other = requests.Session()
    other.get(f"{base}/classes/", params={**SEARCH, "party": "5"})
    other.post(f"{base}/classes/select/1")
    other.post(f"{base}/classes/details", data={"email": "cy@example.com"})
    paid = other.post(f"{base}/classes/pay", data={"outcome": "paid"})
    assert "You are booked" in paid.text
    remind(shop, abandoned=1)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["ann@example.com"]
    assert mail.message["Subject"] == (
        "Your choice has been taken: search again at Tea Shop"
    )
    text = mail.part("plain")
    assert "Matcha whisking for beginners is no longer available" in text
    assert "Continue planning" not in text
    assert [r.template for r in reminders(shop, "booking")][0] == (
        "booking_search_again"
    )

    search = requests.Session().get(labelled_link(text, "Search again"))
    assert "1 seats left" in search.text and "<em>full</em>" in search.text


def test_signup_form_resumes_at_its_step_without_the_password(shop, smtp):
    base = shop.config["base"]
    visitor = requests.Session()
    visitor.post(f"{base}/signup/account",
                 data={"email": "bo@example.com", "password": PASSWORD})
    visitor.post(f"{base}/signup/profile", data={"name": "Bo", "company": "Tea & Co"})
    assert PASSWORD not in json.dumps(session_of(shop, visitor))
    remind(shop, abandoned=1)

    (mail,) = smtp.received
    assert mail.message["Subject"] == "Your signup at Tea Shop is saved"
    text = mail.part("plain")
    assert 'got as far as "profile"' in text

    # A fresh browser gets the step left, filled with what was kept.
    phone = requests.Session()
    profile = phone.get(link(text, "r"))
    assert profile.url == f"{base}/signup/profile"
    assert 'value="Bo"' in profile.text and 'value="Tea &amp; Co"' in profile.text
    account = phone.get(f"{base}/signup/account")
    assert 'value="bo@example.com"' in account.text
    assert PASSWORD not in account.text + profile.text

    # The password was never kept, so the last step asks for it again.
    phone.post(f"{base}/signup/profile", data={"name": "Bo", "company": "Tea & Co"})
    preferences = phone.get(f"{base}/signup/preferences")
    assert 'type="password"' in preferences.text
    done = phone.post(f"{base}/signup/preferences", data={
        "favourite_tea": "Darjeeling", "consent": "yes",
        "password": "another-secret-2"})
    assert done.url == f"{base}/signup/done" and "Welcome to the tea club" in done.text

    (journey,) = journeys(shop, "form")
    assert journey.status == "recovered"
    assert journey.data["values"] == {
        "name": "Bo", "company": "Tea & Co", "favourite_tea": "Darjeeling"}
    assert "password" in journey.data["filled"]
    assert statuses(shop, "form") == ["sent", "cancelled"]
    no_more_mail(shop, smtp)

    # Neither password is anywhere in the database, journeys or not.
    everything = database_text(shop)
    assert "Tea & Co" in everything
    assert PASSWORD not in everything and "another-secret-2" not in everything


def test_browsing_is_reminded_with_ratings_and_stops_at_the_cart(shop, smtp):
    base = shop.config["base"]
    visitor = club_member(base, "Di")
    visitor.get(f"{base}/product/TEA-3")
    visitor.get(f"{base}/product/POT-1")
    remind(shop, abandoned=1)

    (mail,) = smtp.received
    assert mail.message["Subject"] == "Still looking, Di?"
    html = mail.part("html")
    assert "Darjeeling first flush" in html and "★ 4.8" in html
    assert "(12 reviews)" in html
    assert "“Flowery and light, worth every cent.”" in html

    # The link shows what was viewed, newest first, in any browser.
    phone = requests.Session()
    page = phone.get(link(mail.part("plain"), "r"))
    assert page.status_code == 200
    assert page.text.index("Cast iron tea pot") < page.text.index("Darjeeling")

    # Putting something in the cart ends the browsing: recovered, since the
    # email's link was opened first; the next email is cancelled.
    phone.post(f"{base}/cart/add", data={"sku": "TEA-3", "quantity": "1"})
    assert [j.status for j in journeys(shop, "browse")] == ["recovered"]
    assert statuses(shop, "browse") == ["sent", "cancelled"]
    no_more_mail(shop, smtp)


def test_one_email_a_day_the_cart_first(shop, smtp):
    base = shop.config["base"]
    visitor = club_member(base, "Ed")
    visitor.get(f"{base}/product/TEA-4")
    visitor.post(f"{base}/cart/add", data={"sku": "TEA-2", "quantity": "1"})
    visitor.get(f"{base}/product/CUP-1")
    remind(shop, abandoned=2)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["ed@example.com"]
    assert mail.message["Subject"] == "You left something in your cart"

    first_view, _ = journeys(shop, "browse")
    assert first_view.status == "converted"
    first = reminders(shop, "browse")[0]
    assert first.status == "skipped"
    assert first.reason in ("a more important reminder is due",
                            "contact already reminded today")


#: A request the shop must refuse, what it answers, and words of its reason.
BAD_INPUT = [
    ("get", "/classes/?date=soon", None, 400, "like 2027-05-01"),
    ("get", f"/classes/?date={DAY}&party=40", None, 400, "1 to 6 people"),
    ("get", "/classes/?date=2001-01-01", None, 400, "from tomorrow"),
    ("get", f"/classes/?date={DAY}&level=expert", None, 400, "levels are"),
    ("post", "/classes/select/1", None, 400, "Search first"),
    ("get", "/classes/details", None, 400, "Choose a class first"),
    ("post", "/signup/account", {"email": "nope", "password": "long-enough"},
     400, "does not work"),
    ("post", "/signup/account", {"email": "a@example.com", "password": "short"},
     400, "at least 8"),
    ("post", "/signup/profile", {"name": "x" * 300}, 400, "shorten the name"),
    ("get", "/signup/nowhere", None, 404, "no sign-up step"),
]


def test_bad_input_is_refused_with_a_reason(shop):
    for method, path, data, status, reason in BAD_INPUT:
        response = requests.request(method, shop.config["base"] + path, data=data)
        assert (response.status_code, path) == (status, path)
        assert reason in response.text, path

    visitor = requests.Session()
    visitor.get(f"{shop.config['base']}/classes/", params=SEARCH)
    visitor.post(f"{shop.config['base']}/classes/select/1")
    visitor.post(f"{shop.config['base']}/classes/details",
                 data={"email": "fe@example.com"})
    response = visitor.post(f"{shop.config['base']}/classes/pay",
                            data={"outcome": "maybe"})
    assert response.status_code == 400 and "Unknown way to pay" in response.text

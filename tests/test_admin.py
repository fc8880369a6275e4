"""The shop owner's admin: closed by default, CSRF on every change, escaped
everywhere, resend over one SMTP connection, against real databases and SMTP."""

from __future__ import annotations

import csv
import io
import logging
import re
import typing as t

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from conftest import ITEMS, SMTPSink, free_port
from flask import session
from flask_admin import Admin

from flask_abandon import tracking
from flask_abandon.models import Event, Journey, Reminder, ReminderStatus
from flask_abandon.state import get_state

OPEN = {"ABANDON_ADMIN_ACCESS": lambda: True}
EVIL = "<script>alert('owned')</script>"


class CountingSink(SMTPSink):
    """Also notes which SMTP session carried each message, and can refuse a
    NOOP as a server closing an idle connection would."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[int] = []
        self.refuse_noops = 0

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        self.sessions.append(id(session))
        return await super().handle_DATA(server, session, envelope)

    async def handle_NOOP(self, server: t.Any, session: t.Any, envelope: t.Any,
                          arg: t.Any) -> str:
        if self.refuse_noops:
            self.refuse_noops -= 1
            return "421 closing idle connection"

        return "250 OK"


@pytest.fixture
def smtp() -> t.Iterator[CountingSink]:
    sink = CountingSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def start_cart(client, email="ann@example.com", name=None, items=ITEMS):
    payload = {"kind": "cart", "items": items, "email": email}

    if name is not None:
        payload["name"] = name

    response = client.post("/abandon/track", json=payload)
    assert response.status_code == 204, response.json


def abandoned_carts(app, db, *emails, name=None, items=ITEMS) -> list[int]:
    """One abandoned cart per address, each tracked by its own visitor."""
    for email in emails:
        start_cart(app.test_client(), email, name=name, items=items)

    with app.app_context():
        db.session.execute(sa.update(Journey).values(status="abandoned"))
        db.session.commit()
        return list(db.session.scalars(sa.select(Journey.id).order_by(Journey.id)))


def token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def list_page(client, view="carts") -> str:
    response = client.get(f"/abandon/admin/{view}/?flt0_status_is=any")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def act(client, name, ids, csrf=None, view="carts"):
    data = {"action": name, "rowid": [str(i) for i in ids], "url": ""}

    if csrf is not None:
        data["csrf_token"] = csrf

    return client.post(f"/abandon/admin/{view}/action/", data=data,
                       follow_redirects=True)


def reminders(app, db) -> list[Reminder]:
    with app.app_context():
        db.session.expire_all()
        return list(db.session.scalars(sa.select(Reminder).order_by(Reminder.id)))


def our_urls(app) -> list[tuple[str, str]]:
    """Every URL and method of our admin, read from the app's URL map."""
    urls = []

    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("abandon_admin"):
            continue

        # Flask-Admin's own CSS and JS files: public, like any static file.
        if rule.endpoint.endswith(".static"):
            continue

        url = rule.build({arg: "1" for arg in rule.arguments})[1]

        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url))

    return urls


def test_closed_to_everybody_without_a_hook(app, db, client, caplog):
    abandoned_carts(app, db, "ann@example.com")
    urls = our_urls(app)
    assert ("GET", "/abandon/admin/") in urls
    assert ("POST", "/abandon/admin/carts/action/") in urls
    assert len(urls) > 20

    with caplog.at_level(logging.WARNING, "flask_abandon"):
        for method, url in urls:
            response = client.open(url, method=method, data={"action": "delete",
                                                             "rowid": "1"})
            assert response.status_code in (401, 403), (method, url)

    # The log says how to open it, once, at the first refusal.
    assert caplog.text.count("Set ABANDON_ADMIN_ACCESS") == 1

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Journey.id))) == 1


def test_hook_decides_per_request(make_app):
    app, db, _ = make_app({"ABANDON_ADMIN_ACCESS": lambda: session.get("boss")})
    client = app.test_client()
    assert client.get("/abandon/admin/").status_code == 403

    with client.session_transaction() as cookie:
        cookie["boss"] = True

    assert client.get("/abandon/admin/").status_code == 200


def test_closed_admin_says_how_to_open_it_once(make_app, caplog):
    with caplog.at_level(logging.WARNING, "flask_abandon"):
        app, _, _ = make_app()
        app.test_client().get("/abandon/admin/")
        app.test_client().get("/abandon/admin/carts/")

    assert caplog.text.count("Set ABANDON_ADMIN_ACCESS") == 1


def test_anonymous_sent_to_the_hosts_login(make_app):
    flask_login = pytest.importorskip("flask_login")
    app, _, _ = make_app({"ABANDON_ADMIN_ACCESS": lambda: False})
    manager = flask_login.LoginManager(app)
    manager.login_view = "login"
    manager.user_loader(lambda user_id: None)
    app.add_url_rule("/login", "login", lambda: "log in")

    response = app.test_client().get("/abandon/admin/carts/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_posts_without_csrf_token_change_nothing(make_app, smtp):
    app, db, _ = make_app({**OPEN, "WTF_CSRF_ENABLED": True})
    ids = abandoned_carts(app, db, "ann@example.com", "bob@example.com")
    client = app.test_client()
    list_page(client)

    for name in ("resend", "cancel", "delete"):
        page = act(client, name, ids).get_data(as_text=True)
        assert "Failed to perform action" in page

    assert client.post("/abandon/admin/carts/export.csv").mimetype != "text/csv"
    assert client.post("/abandon/admin/carts/delete/",
                       data={"id": str(ids[0])}).status_code == 302

    with app.app_context():
        reminder = Reminder(journey_id=ids[0], template="cart_reminder",
                            send_at=db.session.get(Journey, ids[0]).created_at)
        db.session.add(reminder)
        db.session.commit()
        reminder_id = reminder.id

    client.post(f"/abandon/admin/reminders/test/{reminder_id}",
                data={"address": "owner@example.com"})
    act(client, "cancel", [reminder_id], view="reminders")

    assert smtp.received == []
    assert [r.status for r in reminders(app, db)] == ["planned"]

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Journey.id))) == 2


def test_flask_wtf_csrf_protect_guards_and_passes_our_forms(make_app, smtp):
    flask_wtf = pytest.importorskip("flask_wtf")
    app, db, _ = make_app({**OPEN, "WTF_CSRF_ENABLED": True})
    # Set up after the extension: the admin picks its forms per request, and
    # the extension's own endpoints exempt themselves.
    flask_wtf.CSRFProtect(app)
    ids = abandoned_carts(app, db, "ann@example.com")
    client = app.test_client()
    csrf = token(list_page(client))

    assert act(client, "resend", ids).status_code == 400
    assert smtp.received == []

    page = act(client, "resend", ids, csrf).get_data(as_text=True)
    assert "Reminder sent for 1 cart" in page
    assert len(smtp.received) == 1


def test_shopper_text_is_escaped_on_every_page_and_in_the_csv(make_app, smtp):
    app, db, _ = make_app(OPEN)
    evil_items = [{**ITEMS[0], "name": EVIL}]
    ids = abandoned_carts(app, db, "ann@example.com", name=EVIL, items=evil_items)
    start_cart(app.test_client(), "formula@example.com", name="=HYPERLINK(1)")
    client = app.test_client()
    csrf = token(list_page(client))
    act(client, "resend", ids, csrf)
    (reminder,) = reminders(app, db)

    with app.app_context():
        contact_id = db.session.get(Journey, ids[0]).contact_id

    pages = [
        "/abandon/admin/", "/abandon/admin/carts/?flt0_status_is=any",
        f"/abandon/admin/carts/details/?id={ids[0]}",
        "/abandon/admin/contacts/",
        f"/abandon/admin/contacts/details/?id={contact_id}",
        "/abandon/admin/reminders/",
        f"/abandon/admin/reminders/details/?id={reminder.id}",
        f"/abandon/admin/reminders/test/{reminder.id}",
    ]

    for url in pages:
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page, url

    shown = client.get(f"/abandon/admin/carts/details/?id={ids[0]}").get_data(
        as_text=True
    )
    assert shown.count("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;") >= 2

    response = client.post("/abandon/admin/carts/export.csv?flt0_status_is=any",
                           data={"csrf_token": csrf})
    assert response.mimetype == "text/csv"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    names = {row["email"]: row["name"] for row in rows}
    assert names == {"ann@example.com": EVIL,
                     "formula@example.com": "'=HYPERLINK(1)"}


def test_resend_one(app, db, client, smtp):
    app.config.update(OPEN)
    ids = abandoned_carts(app, db, "ann@example.com")
    page = act(client, "resend", ids, token(list_page(client))).get_data(as_text=True)

    assert "Reminder sent for 1 cart" in page
    (message,) = smtp.received
    assert message.rcpt_tos == ["ann@example.com"]
    (reminder,) = reminders(app, db)
    assert (reminder.status, reminder.manual, reminder.step) == ("sent", True, None)

    with app.app_context():
        sent = sa.select(Event).filter_by(type="reminder_sent")
        event = db.session.scalars(sent).one()
        assert event.detail["manual"] is True

    listed = client.get("/abandon/admin/reminders/").get_data(as_text=True)
    assert "manual" in listed and "sent" in listed


def test_bulk_resend_uses_one_smtp_connection(app, db, client, smtp):
    app.config.update(OPEN)
    emails = ["ann@example.com", "bob@example.com", "cid@example.com"]
    ids = abandoned_carts(app, db, *emails)
    act(client, "resend", ids, token(list_page(client)))

    assert sorted(m.rcpt_tos[0] for m in smtp.received) == emails
    assert all(len(m.rcpt_tos) == 1 for m in smtp.received)
    assert len(set(smtp.sessions)) == 1
    links = {re.search(r"/abandon/r/\S+", m.part("plain")).group(0)
             for m in smtp.received}
    assert len(links) == 3


def test_bulk_resend_reconnects_once_when_the_server_drops(app, db, client, smtp):
    app.config.update(OPEN)
    ids = abandoned_carts(app, db, "ann@example.com", "bob@example.com")
    smtp.refuse_noops = 1
    act(client, "resend", ids, token(list_page(client)))

    assert len(smtp.received) == 2
    assert len(set(smtp.sessions)) == 2
    assert [r.status for r in reminders(app, db)] == ["sent", "sent"]


def test_resend_refuses_unsubscribed_and_completed(app, db, client, smtp):
    app.config.update(OPEN)
    ids = abandoned_carts(app, db, "gone@example.com", "paid@example.com",
                          "ann@example.com")

    with app.app_context():
        tracking.unsubscribe(db.session, "gone@example.com")
        tracking.complete(db.session, db.session.get(Journey, ids[1]))

    page = act(client, "resend", ids, token(list_page(client))).get_data(as_text=True)

    assert "Not sent for cart" in page
    assert "unsubscribed" in page and "already completed" in page
    assert [m.rcpt_tos for m in smtp.received] == [["ann@example.com"]]


def test_cancel_planned_reminders(app, db, client, smtp):
    app.config.update(OPEN)
    ids = abandoned_carts(app, db, "ann@example.com")

    with app.app_context():
        settings = get_state(app).settings
        journey = db.session.get(Journey, ids[0])

        for step, planned in enumerate(settings.sequences["cart"]):
            db.session.add(Reminder(journey_id=journey.id, step=step,
                                    template=planned.template,
                                    send_at=journey.last_activity_at + planned.delay))

        db.session.commit()

    page = act(client, "cancel", ids, token(list_page(client))).get_data(as_text=True)
    assert "3 planned reminder(s) cancelled" in page
    assert {r.status for r in reminders(app, db)} == {"cancelled"}


def test_send_a_test_to_the_owner(app, db, client, smtp):
    app.config.update(OPEN)
    ids = abandoned_carts(app, db, "ann@example.com")

    with app.app_context():
        journey = db.session.get(Journey, ids[0])
        reminder = Reminder(journey_id=journey.id, step=0, template="cart_reminder",
                            send_at=journey.last_activity_at)
        db.session.add(reminder)
        db.session.commit()
        reminder_id = reminder.id

    url = f"/abandon/admin/reminders/test/{reminder_id}"
    csrf = token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"address": "owner@example.com",
                                      "csrf_token": csrf}, follow_redirects=True)

    assert "Test sent to owner@example.com" in response.get_data(as_text=True)
    (message,) = smtp.received
    assert message.rcpt_tos == ["owner@example.com"]
    assert message.message["Subject"].startswith("[Test]")
    assert "Green tea" in message.part("plain")
    assert [r.status for r in reminders(app, db)] == [ReminderStatus.PLANNED]


def test_list_defaults_to_abandoned_and_searches_exactly(app, db, client):
    app.config.update(OPEN)
    abandoned_carts(app, db, "ann@example.com")
    start_cart(app.test_client(), "active@example.com")

    response = client.get("/abandon/admin/carts/")
    assert response.status_code == 302
    assert "flt0_status_is=abandoned" in response.location

    page = client.get(response.location).get_data(as_text=True)
    assert "ann@example.com" in page and "active@example.com" not in page

    page = client.get("/abandon/admin/carts/?flt0_status_is=any"
                      "&search=ACTIVE@example.com").get_data(as_text=True)
    assert "active@example.com" in page and "ann@example.com" not in page


def test_attaches_to_the_hosts_admin(make_app):
    app, db, abandon = make_app({**OPEN, "ABANDON_ADMIN_URL": None})
    admin = Admin(app, name="Shop admin")
    abandon.init_admin(admin)
    client = app.test_client()

    assert client.get("/abandon/admin/").status_code == 404
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/abandon/").status_code == 200
    assert client.get("/admin/abandon/carts/?flt0_status_is=any").status_code == 200
    assert "abandon_admin_carts.index_view" in app.view_functions


def test_attaching_twice_is_refused_with_the_fix(app, abandon):
    with pytest.raises(RuntimeError, match="ABANDON_ADMIN_URL = None"):
        abandon.init_admin(Admin(app, name="Shop admin"))


def test_csrf_protect_leaves_tracking_and_one_click_unsubscribe_alone(make_app):
    flask_wtf = pytest.importorskip("flask_wtf")
    app, db, _ = make_app({"WTF_CSRF_ENABLED": True})
    flask_wtf.CSRFProtect(app)
    client = app.test_client()
    start_cart(client)

    with app.app_context():
        from flask_abandon.tokens import make_unsubscribe_token

        token = make_unsubscribe_token(app, "ann@example.com")

    assert client.post(f"/abandon/u/{token}").status_code == 200


def test_each_kind_has_its_list(make_app):
    app, db, _ = make_app(OPEN)
    client = app.test_client()
    client.post("/abandon/track", json={
        "kind": "booking", "email": "ann@example.com",
        "selection": {"what": "Kimchi class", "check_in": "2027-05-01",
                      "party": 2, "price": "90"}})

    for kind in ("carts", "bookings", "forms", "browsing"):
        assert client.get(f"/abandon/admin/{kind}/?flt0_status_is=any"
                          ).status_code == 200

    page = client.get("/abandon/admin/bookings/?flt0_status_is=any")
    assert "Kimchi class, 2027-05-01, 2 guests" in page.get_data(as_text=True)


def test_closed_admin_says_why_in_debug(make_app):
    app, _, _ = make_app({"DEBUG": True})
    response = app.test_client().get("/abandon/admin/carts/")
    assert response.status_code == 403
    assert b"ABANDON_ADMIN_ACCESS" in response.data

"""Bookings, forms and browse sessions: tracking, rules and their emails."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import session
from helpers import idle, link, reminders_of

from flask_abandon import ConfigError, InvalidPayload
from flask_abandon.jobs import run_sweep, send_reminder
from flask_abandon.models import Journey, ProductView, utcnow

SELECTION = {"what": "Cooking class: kimchi", "check_in": "2027-05-01",
             "party": 2, "price": "90.00"}
SEARCH = {"destination": "Seoul", "check_in": "2027-05-01", "party": 2,
          "filters": {"level": "beginner"},
          "url": "https://shop.example.test/classes?level=beginner"}


def view(sku, category="tea", rating=4.5, **extra):
    return {"sku": sku, "name": f"Tea {sku}", "category": category,
            "url": f"https://shop.example.test/p/{sku}", "price": "12.00",
            "rating_average": rating, "rating_count": 12, **extra}


def journey_of(db, kind):
    db.session.expire_all()
    return db.session.scalars(sa.select(Journey).filter_by(kind=kind)).one()


def first_reminder_of(app, db, kind, idle_for=timedelta(hours=3)):
    """Abandon the journey of ``kind`` and send its first reminder."""
    with app.app_context():
        journey = journey_of(db, kind)
        now = utcnow()
        idle(db, journey.id, now - idle_for)
        assert run_sweep(app, now=now).abandoned == 1
        first = reminders_of(db, journey.id)[0]
        return send_reminder(first.id, now=max(first.send_at, now)), first.id


def post(client, **body):
    response = client.post("/abandon/track", json=body)
    assert response.status_code == 204, response.json
    return response


# Bookings


def test_booking_reminder_offers_to_continue_and_to_search_again(
    app, db, client, smtp, redis_conn
):
    post(client, kind="booking", selection=SELECTION, search=SEARCH,
         email="ann@example.com", currency="EUR", step="selected")
    outcome, _ = first_reminder_of(app, db, "booking", timedelta(hours=26))
    assert outcome == "sent"

    (mail,) = smtp.received
    assert mail.message["Subject"] == "Continue planning your stay with Tea Shop"
    html = mail.part("html")
    assert "Cooking class: kimchi" in html and "€90.00" in html
    assert "Continue planning" in html and "Search again" in html

    # Without a restorer of its own, "search again" runs the saved search.
    links = [u for u in html.split('"') if "/abandon/r/" in u]
    search_link = [u for u in links if u != link(mail.part("plain"), "r")][0]
    response = app.test_client().get(urlsplit(search_link).path)
    assert response.status_code == 302
    assert response.headers["Location"] == SEARCH["url"]


def test_gone_slot_gets_search_again_or_nothing(make_app, smtp, redis_conn):
    for when_gone, expected in (("search_again", "sent"), ("skip", "skipped")):
        app, db, abandon = make_app({"ABANDON_BOOKING_WHEN_UNAVAILABLE": when_gone})
        seen = []

        @abandon.availability_check("booking")
        def still_free(journey, seen=seen):
            seen.append(journey.data["selection"]["what"])
            return False

        post(app.test_client(), kind="booking", selection=SELECTION,
             email="ann@example.com")
        outcome, _ = first_reminder_of(app, db, "booking", timedelta(hours=26))
        assert outcome == expected
        assert seen == ["Cooking class: kimchi"]

        with app.app_context():
            db.drop_all()

    (mail,) = smtp.received
    assert "no longer available" in mail.part("plain")
    assert mail.message["Subject"].startswith("Your choice has been taken")


def test_confirmed_booking_converts_and_failed_deposit_does_not(
    app, db, abandon, client
):
    post(client, kind="booking", selection=SELECTION, email="ann@example.com")

    with client:
        client.get("/cart")
        session_keys = dict(session["_abandon"])

    with app.test_request_context():
        session["_abandon"] = session_keys
        abandon.record_payment("failed", kind="booking")
        assert journey_of(db, "booking").status == "active"
        abandon.complete("booking", revenue=None)
        assert journey_of(db, "booking").status == "converted"


# Forms


def test_form_keeps_names_and_only_safe_values(make_app, smtp, redis_conn):
    app, db, abandon = make_app({"ABANDON_FORM_SAFE_FIELDS": {"signup": ["company"]}})
    client = app.test_client()
    post(client, kind="form", form="signup", step="account",
         fields={"company": "Tea & Co", "password": "hunter2", "phone": "0101234"},
         email="ann@example.com")
    post(client, kind="form", step="details", fields={"card_number": "4111"})

    with app.app_context():
        data = journey_of(db, "form").data

    assert data["filled"] == ["card_number", "company", "password", "phone"]
    assert data["values"] == {"company": "Tea & Co"}
    assert "hunter2" not in str(data) and "4111" not in str(data)
    assert "email_given_at" in data


def test_secret_fields_cannot_be_marked_safe(make_app):
    with pytest.raises(ConfigError, match="never kept"):
        make_app({"ABANDON_FORM_SAFE_FIELDS": {"signup": ["password"]}})


def test_form_reminder_resumes_at_the_step_left(app, db, abandon, client, smtp,
                                                redis_conn):
    @abandon.restorer("form")
    def resume(journey):
        session["form"] = journey.data["values"]
        return f"/signup/{journey.step}"

    post(client, kind="form", form="signup", step="details",
         fields={"name": "Ann"}, email="ann@example.com")
    outcome, _ = first_reminder_of(app, db, "form", timedelta(hours=5))
    assert outcome == "sent"
    (mail,) = smtp.received
    assert 'got as far as "details"' in mail.part("plain")
    response = app.test_client().get(urlsplit(link(mail.part("plain"), "r")).path)
    assert response.headers["Location"] == "/signup/details"


def test_old_form_drafts_are_deleted(app, db, client, redis_conn):
    post(client, kind="form", form="signup", fields={"name": "Ann"})

    with app.app_context():
        journey = journey_of(db, "form")
        db.session.execute(
            sa.update(Journey).values(created_at=utcnow() - timedelta(days=31))
            .where(Journey.id == journey.id)
        )
        db.session.commit()
        assert run_sweep(app).deleted == 1
        assert db.session.scalar(sa.select(sa.func.count(Journey.id))) == 0


# Browse sessions


def test_browsing_is_kept_only_with_consent(app, db, abandon, client):
    post(client, kind="browse", viewed=view("A"))
    post(client, kind="browse", viewed=view("A"), email="ann@example.com")

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Journey.id))) == 0

    post(client, kind="browse", viewed=view("A"), email="ann@example.com",
         consent=True)
    post(client, kind="browse", viewed=view("B", review="Lovely and smoky"))

    with app.app_context():
        journey = journey_of(db, "browse")
        assert [v["sku"] for v in journey.data["views"]] == ["A", "B"]
        assert db.session.scalar(sa.select(sa.func.count(ProductView.id))) == 2


def test_still_looking_shows_ratings_and_review(app, db, client, smtp, redis_conn):
    post(client, kind="browse", viewed=view("A", rating=4.25),
         email="ann@example.com", consent=True, name="Ann")
    post(client, kind="browse", viewed=view("B", review="Lovely and smoky"))
    outcome, _ = first_reminder_of(app, db, "browse")
    assert outcome == "sent"

    (mail,) = smtp.received
    assert mail.message["Subject"] == "Still looking, Ann?"
    html = mail.part("html")
    assert "★ 4.2" in html and "(12 reviews)" in html
    assert "“Lovely and smoky”" in html
    assert "See today&#39;s prices" in html

    # The link shows the products viewed, newest first.
    page = app.test_client().get(urlsplit(link(mail.part("plain"), "r")).path)
    assert page.status_code == 200
    assert page.data.index(b"Tea B") < page.data.index(b"Tea A")


def test_similar_products_come_from_popular_views(make_app, smtp, redis_conn):
    app, db, _ = make_app({"ABANDON_BROWSE_SEQUENCE": [(0, "browse_similar")]})

    for shopper, skus in (("bo", ["C", "D"]), ("cy", ["C"]), ("di", ["X"])):
        post(app.test_client(), kind="browse", email=f"{shopper}@example.com",
             consent=True, viewed=view(skus[0], category="tea" if skus != ["X"]
                                       else "pots"))
        for sku in skus[1:]:
            post(app.test_client(), kind="browse", email=f"{shopper}@example.com",
                 viewed=view(sku))

    client = app.test_client()
    post(client, kind="browse", viewed=view("A"), email="ann@example.com",
         consent=True)

    with app.app_context():
        ann = db.session.scalars(
            sa.select(Journey).filter(Journey.contact.has(email_key="ann@example.com"))
        ).one()
        now = utcnow()
        idle(db, ann.id, now - timedelta(hours=3))
        run_sweep(app, now=now)
        assert send_reminder(reminders_of(db, ann.id)[0].id, now=now) == "sent"

    (mail,) = smtp.received
    text = mail.part("plain")
    similar = text.split("also chose:")[1]
    assert similar.index("Tea C") < similar.index("Tea D")
    assert "Tea X" not in similar


def test_adding_to_cart_ends_the_browse_session(app, db, client):
    post(client, kind="browse", viewed=view("A"), email="ann@example.com",
         consent=True)
    post(client, kind="cart", items=[{"sku": "A", "name": "Tea A",
                                      "unit_price": "12.00", "quantity": 1}])

    with app.app_context():
        assert journey_of(db, "browse").status == "converted"


def test_browse_mail_waits_out_its_cool_down(app, db, smtp, redis_conn):
    for attempt in range(2):
        client = app.test_client()
        post(client, kind="browse", viewed=view("A"), email="ann@example.com",
             consent=True)

        with app.app_context():
            journey = db.session.scalars(
                sa.select(Journey).order_by(Journey.id.desc())
            ).first()
            now = utcnow() + timedelta(days=2 * attempt)
            idle(db, journey.id, now - timedelta(hours=3))
            run_sweep(app, now=now)
            reminder = reminders_of(db, journey.id)[0]
            outcome = send_reminder(reminder.id, now=now)
            reason = reminders_of(db, journey.id)[0].reason

        assert outcome == ("sent" if attempt == 0 else "skipped")

    assert reason == "browse email sent recently"


# Across kinds


def test_one_email_a_day_across_kinds(app, db, smtp, redis_conn):
    cart, form = app.test_client(), app.test_client()
    post(cart, kind="cart", email="ann@example.com", consent=True,
         items=[{"sku": "A", "name": "Tea A", "unit_price": "1", "quantity": 1}])
    post(form, kind="form", form="signup", fields={"name": "Ann"},
         email="ann@example.com")

    with app.app_context():
        now = utcnow()
        ids = {kind: journey_of(db, kind).id for kind in ("cart", "form")}

        for journey_id in ids.values():
            idle(db, journey_id, now - timedelta(hours=5))

        run_sweep(app, now=now)
        cart_first = reminders_of(db, ids["cart"])[0]
        form_first = reminders_of(db, ids["form"])[0]
        # The cart's reminder is due within the day: the form waits its turn.
        assert send_reminder(form_first.id, now=now) == "skipped"
        assert reminders_of(db, ids["form"])[0].reason == (
            "a more important reminder is due"
        )
        assert send_reminder(cart_first.id, now=now) == "sent"

    assert len(smtp.received) == 1


def test_without_consent_only_the_first_reminder_goes(app, db, client, smtp,
                                                     redis_conn):
    post(client, kind="cart", email="ann@example.com",
         items=[{"sku": "A", "name": "Tea A", "unit_price": "1", "quantity": 1}])

    with app.app_context():
        journey = journey_of(db, "cart")
        now = utcnow()
        idle(db, journey.id, now - timedelta(minutes=31))
        run_sweep(app, now=now)
        first, second, _ = reminders_of(db, journey.id)
        assert send_reminder(first.id, now=first.send_at) == "sent"
        assert send_reminder(second.id, now=second.send_at) == "skipped"
        assert reminders_of(db, journey.id)[1].reason == "no marketing consent"


def test_a_kind_refuses_fields_of_another(app, abandon):
    with app.test_request_context(), pytest.raises(InvalidPayload, match="takes"):
        abandon.track("booking", items=[])

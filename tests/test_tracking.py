"""Tracking carts through the Python API and the JSON endpoint."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import ITEMS
from helpers import idle, minutes, only_journey, reminders_of

from flask_abandon import InvalidPayload
from flask_abandon.jobs import run_sweep
from flask_abandon.models import Contact, Journey, JourneyStatus, utcnow


def count(db, model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"kind": "wishlist", "items": ITEMS}, "kind", "unknown kind"),
        (
            {"kind": "cart", "items": [{**ITEMS[0], "quantity": -1}]},
            "items[0].quantity",
            "between 1 and",
        ),
        ({"kind": "cart", "email": "ann@@example.com"}, "email", "not valid"),
        ({"kind": "cart", "email": "ann@example.com\r\nBcc: x@example.com"}, "email",
         "not valid"),
        ({"kind": "cart", "items": [{**ITEMS[0], "unit_price": 1.5}]},
         "items[0].unit_price", "decimal string"),
        ({"kind": "cart", "currency": "EURO"}, "currency", "ISO 4217"),
        ({"kind": "cart", "items": [{**ITEMS[0], "unit_price": "1e30"}]},
         "items[0].unit_price", "from 0 to"),
        ({"kind": "cart", "items": [{**ITEMS[0], "unit_price": "NaN"}]},
         "items[0].unit_price", "from 0 to"),
        ({"kind": "browse", "email": "ann@example.com", "consent": True,
          "viewed": {"sku": "A", "name": "A", "rating_average": "abc"}},
         "viewed.rating_average", "from 0 to 5"),
        ({"kind": "browse", "email": "ann@example.com", "consent": True,
          "viewed": {"sku": "A", "name": "A", "rating_average": 10**400}},
         "viewed.rating_average", "from 0 to 5"),
        ({"kind": "browse", "email": "ann@example.com", "consent": True,
          "viewed": {"sku": "A", "name": "A", "rating_count": 2**63}},
         "viewed.rating_count", "whole number"),
        ({"kind": "cart", "items": ITEMS, "step": "\ud800"}, "step", "Unicode"),
        ({"kind": "cart", "email": "ann@example.com", "name": "\ud800"}, "name",
         "Unicode"),
        ({"kind": "cart", "items": ITEMS, "email": "ann@example.com",
          "step": ""}, "step", "step"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_writes_nothing(
    app, db, client, body, field, reason
):
    response = client.post("/abandon/track", json=body)
    assert response.status_code == 400
    assert response.json["field"] == field
    assert reason in response.json["error"]

    with app.app_context():
        assert count(db, Journey) == 0
        assert count(db, Contact) == 0


def test_body_that_is_not_json_or_too_large_is_refused(app, db, client):
    response = client.post("/abandon/track", data="kind=cart")
    assert response.status_code == 415
    assert "JSON" in response.json["error"]

    response = client.post("/abandon/track", data="{not json",
                           content_type="application/json")
    assert response.status_code == 400

    big = {"kind": "cart", "email": "ann@example.com", "pad": "x" * 70_000}
    response = client.post("/abandon/track", json=big)
    assert response.status_code == 413
    assert "larger than" in response.json["error"]

    with app.app_context():
        assert count(db, Journey) == 0


def test_python_api_raises_naming_the_field(app, abandon):
    with app.test_request_context(), pytest.raises(InvalidPayload) as caught:
        abandon.track("cart", items=[{**ITEMS[0], "sku": ""}])

    assert caught.value.field == "items[0].sku"


def test_returning_visitor_updates_one_journey_and_keeps_its_sequence(
    app, db, client
):
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS[:1],
                                        "email": "ann@example.com"})
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS})

    with app.app_context():
        journey = only_journey(db)
        assert journey.item_count == 3
        now = utcnow()
        idle(db, journey.id, now - minutes(40))
        run_sweep(app, now=now)
        planned = [r.id for r in reminders_of(db, journey.id)]
        assert len(planned) == 3

    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS[:1]})

    with app.app_context():
        journey = only_journey(db)
        assert journey.status == JourneyStatus.ABANDONED
        assert journey.item_count == 2
        idle(db, journey.id, utcnow() - minutes(40))
        run_sweep(app)
        assert [r.id for r in reminders_of(db, journey.id)] == planned
        assert count(db, Journey) == 1


def test_host_ref_identifies_the_journey_across_sessions(app, db, abandon):
    for _ in range(2):
        with app.test_request_context():
            abandon.track("cart", items=ITEMS, ref="cart-42")

    with app.app_context():
        assert only_journey(db).ref == "cart-42"


def test_same_address_in_any_case_is_one_contact(app, db, abandon):
    with app.test_request_context():
        abandon.track("cart", items=ITEMS, email="Ann@Example.com")

    with app.test_request_context():
        abandon.track("cart", items=ITEMS, email="ann@example.com")

    with app.app_context():
        assert count(db, Contact) == 1
        assert count(db, Journey) == 2


@pytest.mark.parametrize(("setting", "expected"), [(False, "active"),
                                                   (True, "converted")])
def test_pending_payment_converts_only_when_the_shop_says_so(
    app, db, client, setting, expected
):
    app.config["ABANDON_COUNT_PENDING_AS_PAID"] = setting
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS})
    assert client.post("/pay/pending").json == {"status": expected}


def test_failed_payment_leaves_the_cart_open(app, db, client):
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS})
    assert client.post("/pay/failed").json == {"status": "active"}

    with app.app_context():
        assert only_journey(db).payment == "failed"


def test_erase_forgets_a_person_entirely(app, db, client):
    client.post("/abandon/track", json={"kind": "cart", "items": ITEMS,
                                        "email": "Ann@Example.com"})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["abandon", "erase", "ANN@example.com"])
    assert "Erased ANN@example.com and 1 journeys." in result.output

    with app.app_context():
        assert count(db, Journey) == 0
        assert count(db, Contact) == 0

    result = runner.invoke(args=["abandon", "erase", "ann@example.com"])
    assert "No contact" in result.output

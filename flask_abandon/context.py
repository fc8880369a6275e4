"""What reminder templates are rendered with, for each kind of journey.

Every template gets the shop's name and support contact, the journey and its
contact, and absolute ``recover_url`` and ``unsubscribe_url`` links; each kind
adds what its emails show.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from .links import external_url
from .models import Journey, ProductView, Reminder
from .money import format_money
from .state import get_state
from .tokens import make_recovery_token, make_unsubscribe_token

#: How many similar products a browse email suggests.
SIMILAR_COUNT = 3


def email_context(app: Flask, reminder: Reminder) -> dict[str, t.Any]:
    """The context of the reminder's templates; links are absolute."""
    journey = reminder.journey
    contact = journey.contact

    if contact is None:
        raise ValueError(f"journey {journey.id} has no contact to write to")

    locale = reader_locale(app, journey)

    def money(amount: t.Any) -> str:
        return format_money(Decimal(amount), journey.currency, locale)

    def link(endpoint: str, token: str) -> str:
        return external_url(app, get_state(app).settings.base_url, endpoint,
                            token=token)

    context = {
        "reminder": reminder,
        "journey": journey,
        "contact": contact,
        "money": money,
        "shop_name": app.config["ABANDON_SHOP_NAME"] or app.name,
        "support_phone": app.config["ABANDON_SUPPORT_PHONE"],
        "support_email": app.config["ABANDON_SUPPORT_EMAIL"],
        "about": app.config["ABANDON_ABOUT"],
        "recover_url": link(
            "abandon.recover", make_recovery_token(app, journey.key, reminder.id)
        ),
        "unsubscribe_url": link(
            "abandon.unsubscribe", make_unsubscribe_token(app, contact.email_key)
        ),
    }
    context.update(KIND_CONTEXT[journey.kind](app, journey, reminder, money, link))
    return context


def reader_locale(app: Flask, journey: Journey) -> str:
    """The locale a journey's emails are written in."""
    contact_locale = journey.contact.locale if journey.contact else None
    return journey.locale or contact_locale or app.config["ABANDON_DEFAULT_LOCALE"]


Money = t.Callable[[t.Any], str]
Link = t.Callable[[str, str], str]


def _cart(
    app: Flask, journey: Journey, reminder: Reminder, money: Money, link: Link
) -> dict[str, t.Any]:
    items = [
        {
            **item,
            "unit_price_display": money(item["unit_price"]),
            "line_total_display": money(item["unit_price"] * item["quantity"]),
        }
        for item in journey.items
    ]
    return {"items": items, "total_display": money(journey.value)}


def _booking(
    app: Flask, journey: Journey, reminder: Reminder, money: Money, link: Link
) -> dict[str, t.Any]:
    selection = journey.data.get("selection")
    search_token = make_recovery_token(app, journey.key, reminder.id, "search")
    return {
        "selection": selection,
        "price_display": money(selection["price"]) if selection else None,
        "search": journey.data.get("search"),
        "search_url": link("abandon.recover", search_token),
    }


def _form(
    app: Flask, journey: Journey, reminder: Reminder, money: Money, link: Link
) -> dict[str, t.Any]:
    return {
        "form_name": journey.data.get("form"),
        "filled": journey.data.get("filled", []),
        "values": journey.data.get("values", {}),
    }


def _browse(
    app: Flask, journey: Journey, reminder: Reminder, money: Money, link: Link
) -> dict[str, t.Any]:
    views = [
        {**view, "price_display": money(view["price"]) if view.get("price") else None}
        for view in reversed(journey.data.get("views", []))
    ]
    recommend = get_state(app).extension.recommenders.get("browse", similar_products)
    similar = [
        {**item, "price_display": money(item["price"]) if item.get("price") else None}
        for item in recommend(journey)
    ]
    return {"views": views, "similar": similar}


KIND_CONTEXT: dict[str, t.Callable[..., dict[str, t.Any]]] = {
    "cart": _cart,
    "booking": _booking,
    "form": _form,
    "browse": _browse,
}


def similar_products(journey: Journey) -> list[dict[str, t.Any]]:
    """Other products of the categories viewed, most viewed by anybody first.

    The default recommender; hosts with their own register one with
    :meth:`~flask_abandon.Abandon.recommender`.
    """
    from flask import current_app

    session = get_state(current_app).session
    views = journey.data.get("views", [])
    categories = {view["category"] for view in views if view.get("category")}
    seen = {view["sku"] for view in views}

    if not categories:
        return []

    popular = session.execute(
        sa.select(ProductView.sku)
        .where(ProductView.category.in_(categories), ProductView.sku.not_in(seen))
        .group_by(ProductView.sku)
        .order_by(sa.func.count().desc(), ProductView.sku)
        .limit(SIMILAR_COUNT)
    ).scalars().all()
    latest = (
        sa.select(sa.func.max(ProductView.id))
        .where(ProductView.sku.in_(popular))
        .group_by(ProductView.sku)
    )
    rows = session.scalars(sa.select(ProductView).where(ProductView.id.in_(latest)))
    by_sku = {row.sku: row for row in rows}
    return [by_sku[sku].as_product() for sku in popular]

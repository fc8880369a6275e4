"""The visitor's cart, kept in the session as ``{sku: quantity}``."""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import abort, current_app, session, url_for

from flask_abandon import InvalidPayload

from .extensions import abandon, db
from .models import Product

logger = logging.getLogger(__name__)

#: The most of one product a cart may hold.
MAX_QUANTITY = 99


@dataclass(frozen=True)
class Line:
    """One product in the cart and how many of it."""

    product: Product
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity


def get_cart() -> dict[str, int]:
    return dict(session.get("cart", {}))


def lines() -> list[Line]:
    """The cart's lines, in catalogue order; products gone since are left out."""
    cart = get_cart()

    if not cart:
        return []

    products = db.session.scalars(
        sa.select(Product).where(Product.sku.in_(cart)).order_by(Product.id)
    )
    return [Line(product, cart[product.sku]) for product in products]


def cart_total(cart_lines: list[Line]) -> Decimal:
    return sum((line.total for line in cart_lines), Decimal(0))


def get_product(sku: t.Any) -> Product:
    """The product with ``sku``, or a 400 naming it."""
    if not isinstance(sku, str) or not sku:
        abort(400, description="Say which product: the form has no 'sku'.")

    product = db.session.scalars(sa.select(Product).filter_by(sku=sku)).first()

    if product is None:
        abort(400, description=f"There is no product {sku!r}.")

    return product


def parse_quantity(value: t.Any, minimum: int) -> int:
    """Read a quantity from a form, or give a 400 saying what is wrong."""
    if value is None or value == "":
        abort(400, description="Say how many: the form has no 'quantity'.")

    try:
        quantity = int(value)
    except ValueError:
        abort(400, description=f"The quantity must be a whole number, not {value!r}.")

    if not minimum <= quantity <= MAX_QUANTITY:
        abort(
            400,
            description=f"The quantity must be from {minimum} to {MAX_QUANTITY}.",
        )

    return quantity


def set_quantity(sku: str, quantity: int) -> None:
    """Change how many of ``sku`` the cart holds; 0 takes it out."""
    cart = get_cart()

    if quantity:
        cart[sku] = quantity
    else:
        cart.pop(sku, None)

    session["cart"] = cart


def track(step: str) -> None:
    """Tell flask-abandon what the cart holds now and how far checkout got.

    A refusal is logged, not raised: the sale matters more than the reminder.
    """
    items = [
        {
            "sku": line.product.sku,
            "name": line.product.name,
            "unit_price": line.product.price,
            "quantity": line.quantity,
            "url": url_for("shop.product", sku=line.product.sku, _external=True),
            "image_url": image_url(line.product),
        }
        for line in lines()
    ]

    try:
        abandon.track(
            "cart",
            items=items,
            email=session.get("email"),
            consent=session.get("consent"),
            locale=current_app.config["SHOP_LOCALE"],
            currency=current_app.config["SHOP_CURRENCY"],
            step=step,
        )
    except InvalidPayload as error:
        logger.warning("Cart not tracked: %s", error)


def image_url(product: Product) -> str | None:
    if product.image is None:
        return None

    return url_for("static", filename=product.image, _external=True)

"""The shop itself: catalogue, cart, checkout and payment."""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from flask_abandon import InvalidPayload

from . import cart
from .extensions import abandon, db
from .models import Order, Product

logger = logging.getLogger(__name__)

bp = Blueprint("shop", __name__)

#: What each button on the payment page does: its outcome for flask-abandon.
PAYMENT_OUTCOMES = ("paid", "failed", "pending")


@bp.get("/")
def index() -> t.Any:
    products = db.session.scalars(sa.select(Product).order_by(Product.id))
    return render_template("shop/index.html", products=products)


@bp.get("/product/<sku>")
def product(sku: str) -> t.Any:
    item = db.session.scalars(sa.select(Product).filter_by(sku=sku)).first()

    if item is None:
        abort(404, description=f"There is no product {sku!r}.")

    track_view(item)
    return render_template("shop/product.html", product=item)


def track_view(item: Product) -> None:
    """Record the view for visitors who told us who they are and said yes to
    news; flask-abandon records nothing for anybody else. A refusal is
    logged, not raised."""
    if not (session.get("email") and session.get("consent")):
        return

    try:
        abandon.track(
            "browse",
            viewed={
                "sku": item.sku,
                "name": item.name,
                "url": url_for("shop.product", sku=item.sku, _external=True),
                "image_url": cart.image_url(item),
                "category": item.category,
                "price": item.price,
                "rating_average": item.rating_average,
                "rating_count": item.rating_count,
                "review": item.review,
            },
            email=session["email"],
            name=session.get("name"),
            consent=True,
            locale=current_app.config["SHOP_LOCALE"],
            currency=current_app.config["SHOP_CURRENCY"],
        )
    except InvalidPayload as error:
        logger.warning("View not tracked: %s", error)


@bp.post("/cart/add")
def cart_add() -> t.Any:
    item = cart.get_product(request.form.get("sku"))
    quantity = cart.parse_quantity(request.form.get("quantity", "1"), minimum=1)
    quantity += cart.get_cart().get(item.sku, 0)

    if quantity > cart.MAX_QUANTITY:
        abort(400, description=f"A cart holds at most {cart.MAX_QUANTITY} of one tea.")

    cart.set_quantity(item.sku, quantity)
    cart.track("cart")
    return redirect(url_for("shop.view_cart"))


@bp.post("/cart/update")
def cart_update() -> t.Any:
    item = cart.get_product(request.form.get("sku"))
    quantity = cart.parse_quantity(request.form.get("quantity"), minimum=0)
    cart.set_quantity(item.sku, quantity)
    cart.track("cart")
    return redirect(url_for("shop.view_cart"))


@bp.get("/cart")
def view_cart() -> t.Any:
    lines = cart.lines()
    return render_template("shop/cart.html", lines=lines, total=cart.cart_total(lines))


@bp.route("/checkout", methods=["GET", "POST"])
def checkout() -> t.Any:
    """Ask for the email address; tracked as it is typed, and on submit."""
    lines = cart.lines()

    if not lines:
        return redirect(url_for("shop.view_cart"))

    email = session.get("email", "")
    error = None

    if request.method == "GET":
        cart.track("checkout")
    else:
        email, error = check_email(request.form.get("email", ""))

        if error is None:
            session["email"] = email
            session["consent"] = request.form.get("consent") == "yes"
            cart.track("payment")
            return redirect(url_for("shop.pay"))

    return render_template(
        "shop/checkout.html",
        lines=lines,
        total=cart.cart_total(lines),
        email=email,
        error=error,
    ), 400 if error else 200


def check_email(value: str) -> tuple[str, str | None]:
    """The address in normal form and ``None``, or as typed and what is wrong."""
    value = value.strip()

    if not value:
        return value, "Please enter your email address."

    try:
        return validate_email(value, check_deliverability=False).normalized, None
    except EmailNotValidError as error:
        return value, f"This email address does not work: {error}"


@bp.route("/pay", methods=["GET", "POST"])
def pay() -> t.Any:
    """A pretend payment page: pay, have the card declined, or pay later."""
    lines = cart.lines()

    if not lines:
        return redirect(url_for("shop.view_cart"))

    if not session.get("email"):
        return redirect(url_for("shop.checkout"))

    total = cart.cart_total(lines)
    error = None

    if request.method == "POST":
        outcome = request.form.get("outcome")

        if outcome not in PAYMENT_OUTCOMES:
            abort(400, description=f"Unknown way to pay: {outcome!r}.")

        abandon.record_payment(outcome, kind="cart", revenue=total)

        if outcome == "failed":
            error = "Your card was declined. Try again, or pay on delivery."
        else:
            order = place_order(lines, outcome)
            return redirect(url_for("shop.order", order_id=order.id))

    return render_template(
        "shop/pay.html", lines=lines, total=total, error=error
    ), 402 if error else 200


def place_order(lines: list[cart.Line], status: str) -> Order:
    """Turn the cart into an order and empty it."""
    order = Order(
        email=session["email"],
        total=cart.cart_total(lines),
        status=status,
        lines=[
            {
                "sku": line.product.sku,
                "name": line.product.name,
                "unit_price": str(line.product.price),
                "quantity": line.quantity,
            }
            for line in lines
        ],
    )
    db.session.add(order)
    db.session.commit()
    logger.info("Order %s placed (%s)", order.id, status)
    session.pop("cart", None)
    session["orders"] = [*session.get("orders", []), order.id][-20:]
    return order


@bp.get("/order/<int:order_id>")
def order(order_id: int) -> t.Any:
    """The confirmation, shown only to the visitor who placed the order."""
    if order_id not in session.get("orders", []):
        abort(404, description="There is no such order in this browser.")

    placed = db.get_or_404(Order, order_id)
    return render_template("shop/order.html", order=placed)


@abandon.restorer("cart")
def restore_cart(journey: t.Any) -> str:
    """Fill the cart from a recovery link, in whatever browser opened it."""
    session["cart"] = {item["sku"]: item["quantity"] for item in journey.items}

    if journey.contact is not None:
        session["email"] = journey.contact.email

    return url_for("shop.view_cart")

"""Tea Shop: a small shop that shows flask-abandon at work.

Run it with ``scripts/demo``, or by hand::

    flask --app example_shop run
"""

from __future__ import annotations

import os
import typing as t
from decimal import Decimal

from babel.numbers import format_currency
from flask import Flask, has_request_context, render_template, session
from werkzeug.exceptions import HTTPException

from . import catalogue, demo_admin
from .demo_admin import is_shop_admin
from .extensions import abandon, db, mail


def create_app(test_config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create and configure the shop.

    :param test_config: settings that replace the instance folder's
        ``config.py``, for tests.
    """
    app = Flask(__name__, instance_relative_config=True)
    shop_port = os.environ.get("SHOP_PORT", "5000")
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SHOP_SECRET_KEY", "dev"),
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "SHOP_DATABASE_URL",
            f"sqlite:///{os.path.join(app.instance_path, 'shop.sqlite3')}",
        ),
        SESSION_COOKIE_SAMESITE="Lax",
        SHOP_LOCALE=os.environ.get("SHOP_LOCALE", "en"),
        SHOP_CURRENCY="EUR",
        SHOP_MAIL_DIR=os.environ.get(
            "SHOP_MAIL_DIR", os.path.join(app.instance_path, "mail")
        ),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=int(os.environ.get("MAIL_PORT", "8025")),
        MAIL_DEFAULT_SENDER="Tea Shop <shop@example.test>",
        ABANDON_SHOP_NAME="Tea Shop",
        ABANDON_BASE_URL=os.environ.get(
            "SHOP_BASE_URL", f"http://127.0.0.1:{shop_port}"
        ),
        ABANDON_REDIS_URL=os.environ.get("SHOP_REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Short enough to watch a cart being abandoned and reminded of.
        ABANDON_CART_TIMEOUT=30,
        ABANDON_CART_SEQUENCE=[60, 120],
        ABANDON_SWEEP_INTERVAL=10,
        ABANDON_BOOKING_TIMEOUT=30,
        ABANDON_BOOKING_SEQUENCE=[(60, "booking_reminder"), (120, "booking_all_here")],
        ABANDON_FORM_TIMEOUT=30,
        ABANDON_FORM_SEQUENCE=[(60, "form_reminder")],
        ABANDON_FORM_SAFE_FIELDS={"signup": ["name", "company", "favourite_tea"]},
        ABANDON_BROWSE_TIMEOUT=30,
        ABANDON_BROWSE_SEQUENCE=[(30, "browse_still_looking")],
        ABANDON_SUPPORT_PHONE="+49 30 1234 5678",
        ABANDON_SUPPORT_EMAIL="help@example.com",
        ABANDON_ABOUT="We have sold and taught tea in Berlin since 2009.",
        ABANDON_TIMEZONE="Europe/Berlin",
        ABANDON_ADMIN_ACCESS=is_shop_admin,
        SHOP_ADMIN_PASSWORD=os.environ.get("SHOP_ADMIN_PASSWORD", "demo"),
        # Cash on delivery is a real order: no reminders after it.
        ABANDON_COUNT_PENDING_AS_PAID=True,
        ABANDON_PAGE_TEMPLATE="base.html",
    )

    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    mail.init_app(app)
    abandon.init_app(app)

    from . import classes, outbox, shop, signup

    app.register_blueprint(shop.bp)
    app.register_blueprint(classes.bp)
    app.register_blueprint(signup.bp)
    app.register_blueprint(outbox.bp)
    app.register_blueprint(demo_admin.bp)

    app.add_template_filter(money_filter(app), "money")
    app.context_processor(cart_size)
    app.register_error_handler(HTTPException, http_error)

    with app.app_context():
        db.create_all()
        catalogue.seed()

    return app


def money_filter(app: Flask) -> t.Callable[[Decimal | str], str]:
    """A template filter writing an amount the way the shop's locale does."""
    currency = app.config["SHOP_CURRENCY"]
    locale = app.config["SHOP_LOCALE"]

    def money(amount: Decimal | str) -> str:
        return format_currency(Decimal(amount), currency, locale=locale)

    return money


def cart_size() -> dict[str, int]:
    """How many things are in the cart, for the navigation.

    Emails are rendered too, by the worker, outside any request.
    """
    if not has_request_context():
        return {}

    return {"cart_size": sum(session.get("cart", {}).values())}


def http_error(error: HTTPException) -> t.Any:
    """Show HTTP errors in the shop's layout, with the reason given."""
    if error.code is None or error.code < 400:
        return error

    return render_template("error.html", error=error), error.code

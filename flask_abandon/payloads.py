"""Checking what the host tracks before any of it is written.

Every function here either returns clean values or raises
:class:`~flask_abandon.errors.InvalidPayload` naming the field at fault.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import babel
import babel.numbers
from email_validator import EmailNotValidError, validate_email

from .errors import InvalidPayload

MAX_ITEMS = 200
MAX_QUANTITY = 10_000
MAX_TEXT = 255
MAX_URL = 2048
#: Prices and totals above these are refused: no shop sells such things, and
#: they would not fit the database's decimal columns.
MAX_PRICE = Decimal("1000000000")
MAX_TOTAL = Decimal("10000000000000")


@dataclass(frozen=True)
class CartContents:
    """Cart line items ready to store, with their count and total."""

    items: list[dict[str, t.Any]]
    item_count: int
    value: Decimal


def clean_email(value: t.Any) -> str:
    """Return the address in normal form, or raise if it cannot be mailed."""
    if not isinstance(value, str):
        raise InvalidPayload("email must be a string", "email")

    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidPayload(f"email is not valid: {error}", "email") from None

    return checked.normalized


def clean_locale(value: t.Any) -> str:
    """Return a locale identifier Babel knows, such as ``de`` or ``ko_KR``."""
    if not isinstance(value, str) or len(value) > 16:
        raise InvalidPayload("locale must be a short string like 'de_DE'", "locale")

    try:
        return str(babel.Locale.parse(value.replace("-", "_")))
    except (ValueError, babel.UnknownLocaleError):
        raise InvalidPayload(f"unknown locale {value!r}", "locale") from None


def clean_currency(value: t.Any) -> str:
    """Return an ISO 4217 currency code such as ``EUR``."""
    if not isinstance(value, str) or not babel.numbers.is_currency(value.upper()):
        raise InvalidPayload(
            f"currency must be an ISO 4217 code like 'EUR', got {value!r}",
            "currency",
        )

    return value.upper()


def clean_name(value: t.Any) -> str:
    """A person's name as they typed it, for greetings."""
    return text_field(value, "name")


def clean_step(value: t.Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise InvalidPayload("step must be a string of 1 to 64 characters", "step")

    return encodable(value, "step")


def clean_items(value: t.Any) -> CartContents:
    """Check a cart's line items and total them."""
    if not isinstance(value, list):
        raise InvalidPayload("items must be a list", "items")

    if len(value) > MAX_ITEMS:
        raise InvalidPayload(f"a cart holds at most {MAX_ITEMS} items", "items")

    items = [_clean_item(item, f"items[{index}]") for index, item in enumerate(value)]
    total = sum(
        (Decimal(item["unit_price"]) * item["quantity"] for item in items), Decimal(0)
    )

    if total > MAX_TOTAL:
        raise InvalidPayload(f"a cart's total must not pass {MAX_TOTAL}", "items")

    return CartContents(
        items=items, item_count=sum(item["quantity"] for item in items), value=total
    )


def _clean_item(item: t.Any, where: str) -> dict[str, t.Any]:
    if not isinstance(item, t.Mapping):
        raise InvalidPayload(f"{where} must be an object", where)

    unknown = set(item) - {"sku", "name", "unit_price", "quantity", "url", "image_url"}

    if unknown:
        raise InvalidPayload(f"{where} has unknown fields {sorted(unknown)}", where)

    return {
        "sku": text_field(item.get("sku"), f"{where}.sku"),
        "name": text_field(item.get("name"), f"{where}.name"),
        "unit_price": str(price_field(item.get("unit_price"), f"{where}.unit_price")),
        "quantity": quantity_field(item.get("quantity"), f"{where}.quantity"),
        "url": url_field(item.get("url"), f"{where}.url"),
        "image_url": url_field(item.get("image_url"), f"{where}.image_url"),
    }


def text_field(value: t.Any, where: str) -> str:
    """A non-empty string of at most :data:`MAX_TEXT` characters, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload(f"{where} must be a non-empty string", where)

    if len(value) > MAX_TEXT:
        raise InvalidPayload(f"{where} is longer than {MAX_TEXT} characters", where)

    return encodable(value, where).strip()


def encodable(value: str, where: str) -> str:
    """``value`` if it can be stored as UTF-8; a lone surrogate (``"\\ud800"``
    in JSON) cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPayload(f"{where} is not valid Unicode text", where) from None

    return value


def price_field(value: t.Any, where: str) -> Decimal:
    # Floats are refused: 0.1 + 0.2 is not a price.
    if isinstance(value, (bool, float)) or not isinstance(value, (int, str, Decimal)):
        raise InvalidPayload(
            f"{where} must be a decimal string like '12.80' or a Decimal", where
        )

    try:
        price = Decimal(value)
    except InvalidOperation:
        raise InvalidPayload(f"{where} is not a number: {value!r}", where) from None

    if not price.is_finite() or not 0 <= price <= MAX_PRICE:
        raise InvalidPayload(f"{where} must be from 0 to {MAX_PRICE}", where)

    return price


def quantity_field(value: t.Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPayload(f"{where} must be a whole number", where)

    if not 1 <= value <= MAX_QUANTITY:
        raise InvalidPayload(
            f"{where} must be between 1 and {MAX_QUANTITY}; leave out removed items",
            where,
        )

    return value


def url_field(value: t.Any, where: str) -> str | None:
    """An absolute http(s) URL, or ``None``."""
    if value is None:
        return None

    if not isinstance(value, str) or len(value) > MAX_URL:
        raise InvalidPayload(f"{where} must be a URL string", where)

    if urlsplit(value).scheme not in ("http", "https"):
        raise InvalidPayload(f"{where} must be an absolute http(s) URL", where)

    return value

"""The kinds of journey: what each tracks and how it is summarised.

A kind turns what the host passed to ``track`` into the journey's new
``data``, how many things it holds (``item_count``; zero means there is
nothing to be reminded of) and what it is worth (``value``).
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass
from decimal import Decimal

from .config import SECRET_FIELD, Settings
from .errors import InvalidPayload
from .payloads import (
    MAX_TEXT,
    clean_items,
    encodable,
    price_field,
    text_field,
    url_field,
)

#: How many viewed products a browse session keeps, newest last.
MAX_VIEWS = 20
#: The largest review count taken; it is stored in an integer column.
MAX_COUNT = 1_000_000_000
#: How many form fields one form may report.
MAX_FIELDS = 100

#: When two kinds compete for a contact's day, the lower number wins.
PRIORITY = {"booking": 0, "cart": 0, "form": 1, "browse": 2}


@dataclass(frozen=True)
class Contents:
    """A journey's data after a tracking call, and its summary."""

    data: dict[str, t.Any]
    item_count: int
    value: Decimal | None = None


class Kind(t.Protocol):
    #: The keyword arguments of ``track`` this kind takes.
    fields: tuple[str, ...]

    def contents(
        self, stored: dict[str, t.Any], given: dict[str, t.Any], settings: Settings
    ) -> Contents: ...


class Cart:
    """Line items, as in :func:`~flask_abandon.payloads.clean_items`."""

    fields: tuple[str, ...] = ("items",)

    def contents(
        self, stored: dict[str, t.Any], given: dict[str, t.Any], settings: Settings
    ) -> Contents:
        cart = clean_items(given["items"])
        return Contents({**stored, "items": cart.items}, cart.item_count, cart.value)


class Booking:
    """A stay, trip or table being reserved, and the search that found it.

    ``selection``: ``what`` (room, fare or table), ``check_in``, optional
    ``check_out`` (ISO dates), ``party`` (people), ``price``, optional ``url``.
    ``search``: ``destination``, dates, ``party``, ``filters`` and the ``url``
    that runs it again.
    """

    fields: tuple[str, ...] = ("selection", "search")

    def contents(
        self, stored: dict[str, t.Any], given: dict[str, t.Any], settings: Settings
    ) -> Contents:
        data = dict(stored)

        if given.get("search") is not None:
            data["search"] = _search(given["search"])

        if given.get("selection") is not None:
            data["selection"] = _selection(given["selection"])

        selection = data.get("selection")
        value = Decimal(selection["price"]) if selection else Decimal(0)
        return Contents(data, 1 if selection else 0, value)


def _selection(value: t.Any) -> dict[str, t.Any]:
    where = "selection"
    _check_keys(value, where, {"what", "check_in", "check_out", "party", "price",
                               "url"})
    check_in = _date(value.get("check_in"), f"{where}.check_in")
    check_out = value.get("check_out")

    if check_out is not None:
        check_out = _date(check_out, f"{where}.check_out")

        if check_out <= check_in:
            raise InvalidPayload("check_out must be after check_in",
                                 f"{where}.check_out")

    return {
        "what": text_field(value.get("what"), f"{where}.what"),
        "check_in": check_in,
        "check_out": check_out,
        "party": _party(value.get("party"), f"{where}.party"),
        "price": str(price_field(value.get("price"), f"{where}.price")),
        "url": url_field(value.get("url"), f"{where}.url"),
    }


def _search(value: t.Any) -> dict[str, t.Any]:
    where = "search"
    _check_keys(value, where, {"destination", "check_in", "check_out", "party",
                               "filters", "url"})
    filters = value.get("filters") or {}

    if not isinstance(filters, dict) or len(filters) > 20 or not all(
        isinstance(v, (str, int, float, bool)) and len(str(v)) <= MAX_TEXT
        for v in filters.values()
    ):
        raise InvalidPayload("filters must map up to 20 names to short values",
                             f"{where}.filters")

    def optional(name: str, clean: t.Callable[[t.Any, str], t.Any]) -> t.Any:
        found = value.get(name)
        return None if found is None else clean(found, f"{where}.{name}")

    return {
        "destination": optional("destination", text_field),
        "check_in": optional("check_in", _date),
        "check_out": optional("check_out", _date),
        "party": optional("party", _party),
        "filters": {str(k)[:64]: v for k, v in filters.items()},
        "url": url_field(value.get("url"), f"{where}.url"),
    }


class Form:
    """A long form: which fields were filled, and at which step.

    Only the names of filled fields are kept, plus the values of the fields
    ``ABANDON_FORM_SAFE_FIELDS`` lists for this form. Fields that look like
    passwords or card data are never kept, listed or not.
    """

    fields: tuple[str, ...] = ("form", "fields")

    def contents(
        self, stored: dict[str, t.Any], given: dict[str, t.Any], settings: Settings
    ) -> Contents:
        name = stored.get("form")

        if given.get("form") is not None:
            name = text_field(given["form"], "form")

        if name is None:
            raise InvalidPayload("say which form this is: form='signup'", "form")

        fields = given.get("fields") or {}

        if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
            raise InvalidPayload(
                f"fields must map up to {MAX_FIELDS} field names to values", "fields"
            )

        safe = settings.form_safe_fields.get(name, frozenset())
        filled = set(stored.get("filled", ()))
        values = dict(stored.get("values", {}))

        for field, value in fields.items():
            field = text_field(field, "fields")

            if value in (None, "", False):
                filled.discard(field)
                values.pop(field, None)
                continue

            filled.add(field)

            if field in safe and not SECRET_FIELD.search(field):
                values[field] = _short(value, f"fields.{field}")

        data = {**stored, "form": name, "filled": sorted(filled), "values": values}
        return Contents(data, len(filled))


class Browse:
    """Products viewed, newest last, with what makes them worth a look again.

    ``viewed``: ``sku``, ``name``, ``url``, optional ``image_url``,
    ``category``, ``price``, ``rating_average`` (0 to 5), ``rating_count`` and
    a ``review`` the host chose to highlight.
    """

    fields: tuple[str, ...] = ("viewed",)

    def contents(
        self, stored: dict[str, t.Any], given: dict[str, t.Any], settings: Settings
    ) -> Contents:
        view = _view(given["viewed"])
        views = [v for v in stored.get("views", ()) if v["sku"] != view["sku"]]
        views = [*views, view][-MAX_VIEWS:]
        return Contents({**stored, "views": views}, len(views))


def _view(value: t.Any) -> dict[str, t.Any]:
    where = "viewed"
    _check_keys(value, where, {"sku", "name", "url", "image_url", "category",
                               "price", "rating_average", "rating_count",
                               "review"})
    rating = value.get("rating_average")

    if rating is not None:
        rating = _rating(rating, f"{where}.rating_average")

    count = value.get("rating_count")

    if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                              or not 0 <= count <= MAX_COUNT):
        raise InvalidPayload("rating_count must be a whole number",
                             f"{where}.rating_count")

    price = value.get("price")
    review = value.get("review")
    return {
        "sku": text_field(value.get("sku"), f"{where}.sku"),
        "name": text_field(value.get("name"), f"{where}.name"),
        "url": url_field(value.get("url"), f"{where}.url"),
        "image_url": url_field(value.get("image_url"), f"{where}.image_url"),
        "category": None if value.get("category") is None
        else text_field(value["category"], f"{where}.category"),
        "price": None if price is None else str(price_field(price, f"{where}.price")),
        "rating_average": rating,
        "rating_count": count,
        "review": None if review is None else _short(review, f"{where}.review", 1000),
    }


KINDS: dict[str, Kind] = {
    "cart": Cart(),
    "booking": Booking(),
    "form": Form(),
    "browse": Browse(),
}


def _check_keys(value: t.Any, where: str, allowed: set[str]) -> None:
    if not isinstance(value, t.Mapping):
        raise InvalidPayload(f"{where} must be an object", where)

    unknown = set(value) - allowed

    if unknown:
        raise InvalidPayload(f"{where} has unknown fields {sorted(unknown)}", where)


def _date(value: t.Any, where: str) -> str:
    """An ISO date such as ``2027-05-01``, kept as that string."""
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidPayload(f"{where} must be a date like 2027-05-01",
                             where) from None


def _rating(value: t.Any, where: str) -> float:
    """An average rating from 0 to 5, rounded to two places."""
    try:
        rating = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError, OverflowError):
        rating = -1.0

    if not 0 <= rating <= 5:  # also false for NaN
        raise InvalidPayload(f"{where} must be a number from 0 to 5", where)

    return round(rating, 2)


def _party(value: t.Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise InvalidPayload(f"{where} must be a number of people from 1 to 100",
                             where)

    return value


def _short(value: t.Any, where: str, limit: int = MAX_TEXT) -> str | int | float:
    if isinstance(value, (bool, int, float)):
        return value

    if not isinstance(value, str) or len(value) > limit:
        raise InvalidPayload(f"{where} must be text of at most {limit} characters",
                             where)

    return encodable(value, where)

"""Configuration defaults and the checks run when the extension starts."""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from .errors import ConfigError

#: Kinds of journey the extension knows how to track.
KNOWN_KINDS = ("cart", "booking", "form", "browse")

#: Every ``ABANDON_*`` key and its default. The README's table follows this.
DEFAULTS: dict[str, t.Any] = {
    "ABANDON_BASE_URL": None,
    "ABANDON_KINDS": KNOWN_KINDS,
    "ABANDON_CART_TIMEOUT": timedelta(minutes=30),
    "ABANDON_CART_SEQUENCE": (
        timedelta(hours=1),
        timedelta(hours=24),
        timedelta(hours=72),
    ),
    "ABANDON_BOOKING_TIMEOUT": timedelta(hours=1),
    "ABANDON_BOOKING_SEQUENCE": ((timedelta(hours=24), "booking_reminder"),),
    "ABANDON_BOOKING_WHEN_UNAVAILABLE": "search_again",
    "ABANDON_FORM_TIMEOUT": timedelta(hours=1),
    "ABANDON_FORM_SEQUENCE": ((timedelta(hours=3), "form_reminder"),),
    "ABANDON_FORM_SAFE_FIELDS": {},
    "ABANDON_FORM_RETENTION": timedelta(days=30),
    "ABANDON_BROWSE_TIMEOUT": timedelta(hours=2),
    "ABANDON_BROWSE_SEQUENCE": ((timedelta(0), "browse_still_looking"),),
    "ABANDON_BROWSE_COOLDOWN": timedelta(days=14),
    "ABANDON_CONTACT_COOLDOWN": timedelta(hours=24),
    "ABANDON_SUPPORT_PHONE": None,
    "ABANDON_SUPPORT_EMAIL": None,
    "ABANDON_ABOUT": None,
    "ABANDON_MAX_AGE": timedelta(days=7),
    "ABANDON_LINK_MAX_AGE": timedelta(days=7),
    "ABANDON_COUNT_PENDING_AS_PAID": False,
    "ABANDON_SEND_EMAILS": True,
    "ABANDON_SENDER": None,
    "ABANDON_SHOP_NAME": None,
    "ABANDON_DEFAULT_LOCALE": "en",
    "ABANDON_REDIS_URL": "redis://127.0.0.1:6379/0",
    "ABANDON_QUEUE": "abandon",
    "ABANDON_SWEEP_INTERVAL": timedelta(minutes=1),
    "ABANDON_RETRY_DELAYS": (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
    ),
    "ABANDON_MAX_BODY": 64 * 1024,
    "ABANDON_URL_PREFIX": "/abandon",
    "ABANDON_PAGE_TEMPLATE": "abandon/layout.html",
    "ABANDON_TIMEZONE": "UTC",
    "ABANDON_ADMIN_URL": "/abandon/admin",
    "ABANDON_ADMIN_ACCESS": None,
}


@dataclass(frozen=True)
class Step:
    """One reminder of a sequence: how long after abandonment, which email."""

    delay: timedelta
    template: str


def to_timedelta(value: t.Any, key: str) -> timedelta:
    """Read a duration given as seconds or as a :class:`~datetime.timedelta`.

    :raises ConfigError: naming ``key`` when the value is neither, or negative.
    """
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        duration = timedelta(seconds=value)
    else:
        raise ConfigError(
            f"{key} must be a number of seconds or a timedelta, got {value!r}."
        )

    if duration < timedelta(0):
        raise ConfigError(f"{key} must not be negative, got {value!r}.")

    return duration


def to_sequence(value: t.Any, key: str, default_template: str) -> tuple[Step, ...]:
    """Read a reminder sequence: delays, or ``(delay, template)`` pairs."""
    if isinstance(value, (str, bytes)) or not isinstance(value, t.Iterable):
        raise ConfigError(f"{key} must be a list of delays, got {value!r}.")

    steps = []

    for entry in value:
        if isinstance(entry, (tuple, list)):
            delay, template = entry
        else:
            delay, template = entry, default_template

        steps.append(Step(to_timedelta(delay, key), str(template)))

    delays = [step.delay for step in steps]

    if delays != sorted(delays):
        raise ConfigError(f"{key} must list its delays from first to last.")

    return tuple(steps)


@dataclass(frozen=True)
class Settings:
    """The checked, normalised configuration of one application."""

    base_url: str
    kinds: tuple[str, ...]
    timeouts: dict[str, timedelta]
    sequences: dict[str, tuple[Step, ...]]
    max_age: timedelta
    link_max_age: timedelta
    sweep_interval: timedelta
    retry_delays: tuple[timedelta, ...]
    max_body: int
    #: Field names whose values a form may keep, by form name.
    form_safe_fields: dict[str, frozenset[str]]
    form_retention: timedelta
    browse_cooldown: timedelta
    contact_cooldown: timedelta
    #: "search_again" or "skip", for a booking whose slot has gone.
    booking_when_unavailable: str

    def timeout(self, kind: str) -> timedelta:
        return self.timeouts[kind]


def load_settings(config: t.Mapping[str, t.Any]) -> Settings:
    """Check the ``ABANDON_*`` keys of ``config`` and normalise them.

    :raises ConfigError: quoting the key at fault and how to fix it.
    """
    kinds = tuple(config["ABANDON_KINDS"])
    unknown = sorted(set(kinds) - set(KNOWN_KINDS))

    if unknown:
        raise ConfigError(
            f"ABANDON_KINDS names unknown kinds {unknown}; "
            f"choose from {list(KNOWN_KINDS)}."
        )

    return Settings(
        base_url=_base_url(config),
        kinds=kinds,
        timeouts={
            kind: to_timedelta(config[f"ABANDON_{kind.upper()}_TIMEOUT"],
                               f"ABANDON_{kind.upper()}_TIMEOUT")
            for kind in kinds
        },
        sequences={
            kind: to_sequence(config[f"ABANDON_{kind.upper()}_SEQUENCE"],
                              f"ABANDON_{kind.upper()}_SEQUENCE",
                              f"{kind}_reminder")
            for kind in kinds
        },
        max_age=to_timedelta(config["ABANDON_MAX_AGE"], "ABANDON_MAX_AGE"),
        link_max_age=to_timedelta(
            config["ABANDON_LINK_MAX_AGE"], "ABANDON_LINK_MAX_AGE"
        ),
        sweep_interval=to_timedelta(
            config["ABANDON_SWEEP_INTERVAL"], "ABANDON_SWEEP_INTERVAL"
        ),
        retry_delays=tuple(
            to_timedelta(delay, "ABANDON_RETRY_DELAYS")
            for delay in config["ABANDON_RETRY_DELAYS"]
        ),
        max_body=int(config["ABANDON_MAX_BODY"]),
        form_safe_fields=_safe_fields(config["ABANDON_FORM_SAFE_FIELDS"]),
        form_retention=to_timedelta(
            config["ABANDON_FORM_RETENTION"], "ABANDON_FORM_RETENTION"
        ),
        browse_cooldown=to_timedelta(
            config["ABANDON_BROWSE_COOLDOWN"], "ABANDON_BROWSE_COOLDOWN"
        ),
        contact_cooldown=to_timedelta(
            config["ABANDON_CONTACT_COOLDOWN"], "ABANDON_CONTACT_COOLDOWN"
        ),
        booking_when_unavailable=_one_of(
            config["ABANDON_BOOKING_WHEN_UNAVAILABLE"],
            "ABANDON_BOOKING_WHEN_UNAVAILABLE",
            ("search_again", "skip"),
        ),
    )


def _one_of(value: t.Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {list(choices)}, got {value!r}.")

    return str(value)


#: Fields never kept, whatever a shop lists as safe: secrets and card data.
SECRET_FIELD = re.compile(
    r"pass|pwd|secret|token|card|cc[-_]?num|cvc|cvv|iban|ssn|pin\b", re.IGNORECASE
)


def _safe_fields(value: t.Any) -> dict[str, frozenset[str]]:
    """Read ``ABANDON_FORM_SAFE_FIELDS``: ``{form name: [field names]}``."""
    if not isinstance(value, t.Mapping):
        raise ConfigError(
            "ABANDON_FORM_SAFE_FIELDS must map form names to field names,"
            f" e.g. {{'signup': ['name', 'company']}}; got {value!r}."
        )

    safe = {str(form): frozenset(map(str, fields)) for form, fields in value.items()}

    for form, fields in safe.items():
        secret = sorted(field for field in fields if SECRET_FIELD.search(field))

        if secret:
            raise ConfigError(
                f"ABANDON_FORM_SAFE_FIELDS[{form!r}] lists {secret}: passwords"
                " and card data are never kept; remove them."
            )

    return safe


def _base_url(config: t.Mapping[str, t.Any]) -> str:
    """The absolute URL that links in emails start with."""
    base_url = config["ABANDON_BASE_URL"]

    if base_url is None and config.get("SERVER_NAME"):
        scheme = config.get("PREFERRED_URL_SCHEME", "http")
        base_url = f"{scheme}://{config['SERVER_NAME']}"

    if not base_url:
        raise ConfigError(
            "ABANDON_BASE_URL is not set: reminder emails need absolute links."
            " Set it to the shop's public address, e.g."
            " ABANDON_BASE_URL = 'https://shop.example.com'."
        )

    parts = urlsplit(base_url)

    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"ABANDON_BASE_URL must be an absolute http(s) URL, got {base_url!r}."
        )

    return base_url.rstrip("/")

"""Signed tokens for the links in reminder emails.

Each kind of link has its own salt, so a token made for one purpose is refused
by every other. Recovery tokens expire; unsubscribe tokens do not, since an
unsubscribe link must keep working for as long as the email exists.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from itsdangerous import URLSafeTimedSerializer

RECOVER_SALT = "flask-abandon.recover"
UNSUBSCRIBE_SALT = "flask-abandon.unsubscribe"


def _serializer(app: Flask, salt: str) -> URLSafeTimedSerializer:
    if not app.secret_key:
        raise RuntimeError(
            "SECRET_KEY is not set: flask-abandon signs its email links with it."
        )

    # Keys from SECRET_KEY_FALLBACKS still verify links sent before a rotation.
    keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key]
    return URLSafeTimedSerializer(keys, salt=salt)


def make_recovery_token(
    app: Flask, journey_key: str, reminder_id: int | None, action: str = "continue"
) -> str:
    """Sign a link that brings a journey back; ``action`` says how ("continue"
    where it was left, or a booking's "search" run again)."""
    return _serializer(app, RECOVER_SALT).dumps([journey_key, reminder_id, action])


def read_recovery_token(
    app: Flask, token: str, max_age: timedelta
) -> tuple[str, int | None, str]:
    """Return the journey key, reminder id and action a token was made for.

    :raises itsdangerous.SignatureExpired: when older than ``max_age``.
    :raises itsdangerous.BadData: when tampered with or malformed.
    """
    payload = _serializer(app, RECOVER_SALT).loads(
        token, max_age=int(max_age.total_seconds())
    )
    journey_key, reminder_id, action = payload
    return str(journey_key), reminder_id, str(action)


def make_unsubscribe_token(app: Flask, email_key: str) -> str:
    return _serializer(app, UNSUBSCRIBE_SALT).dumps(email_key)


def read_unsubscribe_token(app: Flask, token: str) -> str:
    """Return the lower-cased address an unsubscribe token was made for.

    :raises itsdangerous.BadData: when tampered with or malformed.
    """
    return str(_serializer(app, UNSUBSCRIBE_SALT).loads(token))

"""What the extension keeps for each app, in ``app.extensions["abandon"]``."""

from __future__ import annotations

import typing as t
from functools import cached_property

import redis
from flask import Flask
from sqlalchemy.orm import Session

from .config import Settings

if t.TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .extension import Abandon


class AbandonState:
    """The checked settings of one app and the connections they lead to."""

    def __init__(
        self, extension: Abandon, app: Flask, db: SQLAlchemy, settings: Settings
    ) -> None:
        self.extension = extension
        self.db = db
        self.settings = settings
        self.redis_url: str = app.config["ABANDON_REDIS_URL"]

    @property
    def session(self) -> Session:
        """The host's Flask-SQLAlchemy session (a scoped proxy of one)."""
        return t.cast(Session, self.db.session)

    @cached_property
    def redis(self) -> redis.Redis:
        """The Redis connection for RQ, opened on first use (never on import
        or on a tracking call)."""
        return redis.Redis.from_url(self.redis_url)


def get_state(app: Flask) -> AbandonState:
    try:
        return t.cast(AbandonState, app.extensions["abandon"])
    except KeyError:
        raise RuntimeError(
            "flask-abandon is not set up on this app: call Abandon(app) or"
            " abandon.init_app(app) first."
        ) from None

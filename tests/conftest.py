"""Fixtures: a small host app, real Redis, a real SMTP server, real databases."""

from __future__ import annotations

import os
import socket
import threading
import typing as t
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask, session, url_for
from flask_sqlalchemy import SQLAlchemy

from flask_abandon import Abandon

POSTGRES_SERVER = os.environ.get(
    "ABANDON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Each test run works in a schema and a Redis database of its own, so two
#: runs on one machine never drop or flush each other's data.
RUN_NAME = f"abandon_test_{os.getpid()}"
RUN_MARK = "flask-abandon:test-run"


def _claim_redis_url() -> str:
    given = os.environ.get("ABANDON_TEST_REDIS_URL")

    if given:
        return given

    # Only an empty database is taken: the tests flush the one they use.
    for number in range(15, 7, -1):
        url = f"redis://127.0.0.1:6379/{number}"

        with redis.Redis.from_url(url) as connection:
            if connection.dbsize() == 0 and connection.set(
                RUN_MARK, RUN_NAME, nx=True, ex=3600
            ):
                return url

    raise RuntimeError(
        "Redis databases 8 to 15 on 127.0.0.1:6379 all hold data; name one the"
        " tests may flush with ABANDON_TEST_REDIS_URL=redis://127.0.0.1:6379/N"
    )


def _make_postgres_schema() -> str | None:
    """A URL into a fresh schema of the test database, or ``None``."""
    try:
        engine = sa.create_engine(POSTGRES_SERVER)

        with engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {RUN_NAME}"))

        engine.dispose()
    except (ImportError, sa.exc.OperationalError):
        return None

    separator = "&" if "?" in POSTGRES_SERVER else "?"
    return f"{POSTGRES_SERVER}{separator}options=-csearch_path%3D{RUN_NAME}"


REDIS_URL = _claim_redis_url()
POSTGRES_URL = _make_postgres_schema()


def pytest_sessionfinish(session: pytest.Session) -> None:
    with redis.Redis.from_url(REDIS_URL) as connection:
        connection.flushdb()

    if POSTGRES_URL is not None:
        engine = sa.create_engine(POSTGRES_SERVER)

        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {RUN_NAME} CASCADE"))

        engine.dispose()


DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@dataclass
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return t.cast(EmailMessage, message_from_bytes(self.raw, policy=policy.default))

    def part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return t.cast(str, part.get_content())


@dataclass
class SMTPSink:
    """Handler for aiosmtpd that keeps messages and can answer with errors."""

    received: list[Received] = field(default_factory=list)
    #: Replies to give to the next DATA commands instead of accepting.
    data_replies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        with self.lock:
            if self.data_replies:
                return self.data_replies.pop(0)

            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )

        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> t.Iterator[SMTPSink]:
    sink = SMTPSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def redis_conn() -> t.Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    connection.set(RUN_MARK, RUN_NAME, ex=3600)
    yield connection
    connection.flushdb()
    connection.set(RUN_MARK, RUN_NAME, ex=3600)
    connection.close()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: t.Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.sqlite3'}"

    return POSTGRES_URL


def make_host_app(config: dict[str, t.Any]) -> tuple[Flask, SQLAlchemy, Abandon]:
    """A bare host shop: one Flask-SQLAlchemy instance and the extension."""
    app = Flask("host_shop")
    app.config.update(
        SECRET_KEY="test secret",
        TESTING=True,
        MAIL_SUPPRESS_SEND=False,
        MAIL_SERVER="127.0.0.1",
        MAIL_DEFAULT_SENDER=("Tea Shop", "shop@example.test"),
        ABANDON_BASE_URL="https://shop.example.test",
        ABANDON_REDIS_URL=REDIS_URL,
        ABANDON_SHOP_NAME="Tea Shop",
    )
    app.config.update(config)
    db = SQLAlchemy()
    db.init_app(app)
    abandon = Abandon(app, db=db)

    @abandon.restorer("cart")
    def restore_cart(journey: t.Any) -> str:
        session["cart"] = {item["sku"]: item["quantity"] for item in journey.items}
        return url_for("cart")

    @app.get("/cart")
    def cart() -> t.Any:
        return dict(session.get("cart", {}))

    @app.post("/pay/<outcome>")
    def pay(outcome: str) -> t.Any:
        journey = abandon.record_payment(outcome)
        return {"status": journey.status if journey else None}

    with app.app_context():
        db.drop_all()
        db.create_all()

    return app, db, abandon


@pytest.fixture
def make_app(
    database_url: str, smtp: SMTPSink, redis_conn: redis.Redis
) -> t.Iterator[t.Callable[..., tuple[Flask, SQLAlchemy, Abandon]]]:
    """Build host apps on the test's database, SMTP server and Redis."""
    made = []

    def make(
        config: dict[str, t.Any] | None = None,
    ) -> tuple[Flask, SQLAlchemy, Abandon]:
        host = make_host_app(
            {"SQLALCHEMY_DATABASE_URI": database_url, "MAIL_PORT": smtp.port,
             **(config or {})}
        )
        made.append(host)
        return host

    yield make

    for app, db, _ in made:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def host(make_app: t.Callable[..., tuple[Flask, SQLAlchemy, Abandon]]) -> t.Any:
    return make_app()


@pytest.fixture
def app(host: tuple[Flask, SQLAlchemy, Abandon]) -> Flask:
    return host[0]


@pytest.fixture
def db(host: tuple[Flask, SQLAlchemy, Abandon]) -> SQLAlchemy:
    return host[1]


@pytest.fixture
def abandon(host: tuple[Flask, SQLAlchemy, Abandon]) -> Abandon:
    return host[2]


@pytest.fixture
def client(app: Flask) -> t.Any:
    return app.test_client()


ITEMS = [
    {"sku": "TEA-1", "name": "Green tea", "unit_price": "12.80", "quantity": 2},
    {"sku": "POT-1", "name": "Tea pot", "unit_price": "30.00", "quantity": 1},
]

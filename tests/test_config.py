"""Setting the extension up: defaults, checks at start-up, registration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import make_host_app
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_abandon import Abandon, ConfigError
from flask_abandon.config import DEFAULTS, to_sequence, to_timedelta

MINIMAL = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}


def test_factory_pattern_registers_on_the_app():
    db = SQLAlchemy()
    abandon = Abandon(db=db)
    app = Flask("factory")
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite://",
        ABANDON_BASE_URL="https://shop.example.com",
        MAIL_DEFAULT_SENDER="shop@example.com",
    )
    db.init_app(app)
    abandon.init_app(app)
    assert app.extensions["abandon"].extension is abandon
    assert app.config["ABANDON_CART_TIMEOUT"] == DEFAULTS["ABANDON_CART_TIMEOUT"]
    assert "abandon_journey" in db.metadata.tables

    with app.app_context():
        db.create_all()


def test_registering_twice_says_what_to_do():
    app, _, abandon = make_host_app(MINIMAL)

    with pytest.raises(RuntimeError, match="already registered"):
        abandon.init_app(app)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"ABANDON_CART_TIMEOUT": -5}, "ABANDON_CART_TIMEOUT must not be negative"),
        ({"ABANDON_CART_TIMEOUT": "soon"}, "ABANDON_CART_TIMEOUT must be a number"),
        ({"ABANDON_KINDS": ["cart", "wishlist"]}, "unknown kinds \\['wishlist'\\]"),
        ({"ABANDON_BASE_URL": None}, "ABANDON_BASE_URL is not set"),
        ({"ABANDON_BASE_URL": "shop.example.com"}, "absolute http"),
        ({"ABANDON_CART_SEQUENCE": [3600, 60]}, "from first to last"),
        (
            {"ABANDON_SENDER": None, "MAIL_DEFAULT_SENDER": None},
            "No sender for reminder emails",
        ),
    ],
)
def test_bad_settings_fail_at_start_up(config, message):
    with pytest.raises(ConfigError, match=message):
        make_host_app({**MINIMAL, **config})


def test_base_url_falls_back_to_server_name():
    app, _, _ = make_host_app(
        {**MINIMAL, "ABANDON_BASE_URL": None, "SERVER_NAME": "tea.example.com",
         "PREFERRED_URL_SCHEME": "https"}
    )
    assert app.extensions["abandon"].settings.base_url == "https://tea.example.com"


def test_durations_accept_seconds_or_timedelta():
    assert to_timedelta(90, "K") == timedelta(seconds=90)
    assert to_timedelta(timedelta(hours=1), "K") == timedelta(hours=1)
    steps = to_sequence([60, (120, "cart_last_call")], "K", "cart_reminder")
    assert [(s.delay.seconds, s.template) for s in steps] == [
        (60, "cart_reminder"),
        (120, "cart_last_call"),
    ]


def test_without_a_database_the_error_names_the_fix():
    app = Flask("no_db")
    app.config.update(ABANDON_BASE_URL="https://x.example.com",
                      MAIL_DEFAULT_SENDER="shop@example.com")

    with pytest.raises(RuntimeError, match="Flask-SQLAlchemy"):
        Abandon(app)


def test_commands_say_when_the_tables_are_missing():
    app, db, _ = make_host_app(MINIMAL)

    with app.app_context():
        db.drop_all()

    result = app.test_cli_runner().invoke(args=["abandon", "sweep"])
    assert result.exit_code == 1
    assert "Create the tables with db.create_all()" in result.output

"""The outbox: read the mail the catcher kept, to click the links in it."""

from __future__ import annotations

import os
import re
import typing as t
from dataclasses import dataclass
from email import message_from_binary_file, policy
from email.message import EmailMessage

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("outbox", __name__, url_prefix="/outbox")

#: Names the mail catcher gives its files; nothing else is ever opened.
NAME = re.compile(r"[\w-]+\.eml")

#: How many messages the list shows, newest first.
LIMIT = 100


@dataclass(frozen=True)
class Mail:
    """A caught message, parsed."""

    name: str
    message: EmailMessage

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    def body(self, subtype: str) -> str | None:
        """The ``text/<subtype>`` part, decoded, if the message has one."""
        part = self.message.get_body(preferencelist=(subtype,))

        if part is None or part.get_content_subtype() != subtype:
            return None

        return t.cast(str, part.get_content())


def mail_dir() -> str:
    return t.cast(str, current_app.config["SHOP_MAIL_DIR"])


def read(name: str) -> Mail:
    """The caught message called ``name``, or a 404."""
    if not NAME.fullmatch(name):
        abort(404)

    try:
        with open(os.path.join(mail_dir(), name), "rb") as file:
            message = message_from_binary_file(file, policy=policy.default)
    except FileNotFoundError:
        abort(404, description="This message is not in the outbox (any more).")

    return Mail(name, t.cast(EmailMessage, message))


@bp.get("/")
def index() -> t.Any:
    try:
        names = [name for name in os.listdir(mail_dir()) if NAME.fullmatch(name)]
    except FileNotFoundError:
        names = []

    names.sort(reverse=True)
    mails = [read(name) for name in names[:LIMIT]]
    return render_template("outbox/index.html", mails=mails, folder=mail_dir())


@bp.get("/<name>")
def show(name: str) -> t.Any:
    return render_template("outbox/show.html", mail=read(name))

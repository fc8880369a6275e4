"""Rendering reminder emails and handing them to Flask-Mail."""

from __future__ import annotations

import contextlib
import copy
import logging
import smtplib
import typing as t

from flask import Flask, render_template
from flask_mail import Connection, Message

from .context import email_context, reader_locale
from .models import Reminder

logger = logging.getLogger(__name__)


class SendFailed(Exception):
    """The mail server refused a message; ``temporary`` says whether to retry."""

    def __init__(self, message: str, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


def one_line(value: str) -> str:
    """Fold all white space, line breaks included, so a header stays one header."""
    return " ".join(value.split())


def sender(app: Flask) -> str | tuple[str, str]:
    """``ABANDON_SENDER``, else Flask-Mail's ``MAIL_DEFAULT_SENDER``."""
    value = app.config["ABANDON_SENDER"] or app.config.get("MAIL_DEFAULT_SENDER")

    if isinstance(value, (tuple, list)):
        name, address = value
        return one_line(name), one_line(address)

    return one_line(str(value))


def build_message(app: Flask, reminder: Reminder) -> Message:
    """Render the reminder's templates into a message for its contact.

    ``abandon/email/<template>.subject.txt``, ``.txt`` and ``.html`` are
    looked up in the host's templates first, so each can be overridden.
    """
    context = email_context(app, reminder)
    name = f"abandon/email/{reminder.template}"

    with translated(app, reader_locale(app, reminder.journey)):
        subject = one_line(render_template(f"{name}.subject.txt", **context))
        body = render_template(f"{name}.txt", **context)
        html = render_template(f"{name}.html", **context)

    unsubscribe_url = context["unsubscribe_url"]
    return Message(
        subject=subject,
        recipients=[context["contact"].email],
        body=body,
        html=html,
        sender=sender(app),
        extra_headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def translated(app: Flask, locale: str) -> t.ContextManager[None]:
    """Render in the reader's locale where the shop set up Flask-Babel."""
    if "babel" not in app.extensions:
        return contextlib.nullcontext()

    from flask_babel import force_locale

    return t.cast(t.ContextManager[None], force_locale(locale))


def suppressed(app: Flask) -> bool:
    """Whether mail is held back, decided now rather than at start-up.

    ``MAIL_SUPPRESS_SEND`` wins when set; otherwise a testing app sends
    nothing, even when ``TESTING`` was switched on after Flask-Mail started.
    """
    return bool(app.config.get("MAIL_SUPPRESS_SEND", app.testing))


@contextlib.contextmanager
def connect(app: Flask) -> t.Iterator[Connection]:
    """Open a Flask-Mail connection; reuse it to send many messages in a row.

    :raises SendFailed: when the mail server cannot be reached.
    """
    try:
        state = copy.copy(app.extensions["mail"])
    except KeyError:
        raise RuntimeError(
            "Flask-Mail is not set up on this app: call Mail(app) or let"
            " Abandon(app) do it by initialising Abandon first."
        ) from None

    state.suppress = suppressed(app)
    connection = Connection(state)

    with smtp_errors():
        connection.__enter__()

    try:
        yield connection
    finally:
        # A server that already hung up (after a 421, say) cannot say goodbye.
        try:
            connection.__exit__(None, None, None)  # type: ignore[arg-type]
        except (smtplib.SMTPException, OSError):
            logger.debug("closing the SMTP connection failed", exc_info=True)


def send(connection: Connection, message: Message) -> None:
    """Send one message over an open connection.

    :raises SendFailed: see :func:`smtp_errors`.
    """
    with smtp_errors():
        connection.send(message)


@contextlib.contextmanager
def smtp_errors() -> t.Iterator[None]:
    """Turn SMTP and socket errors into :class:`SendFailed`.

    A 4xx reply or a lost connection is temporary and worth retrying; a 5xx
    refusal is not.
    """
    try:
        yield
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise SendFailed(
            f"recipient refused: {error.recipients}",
            temporary=all(400 <= code < 500 for code in codes),
        ) from error
    except smtplib.SMTPResponseException as error:
        raise SendFailed(
            f"mail server replied {error.smtp_code}: {error.smtp_error!r}",
            temporary=400 <= error.smtp_code < 500,
        ) from error
    except (smtplib.SMTPException, OSError) as error:
        raise SendFailed(f"mail server unreachable: {error}", temporary=True) from error

"""Who may see the admin, and how its forms carry their CSRF token.

The admin is closed until the host sets ``ABANDON_ADMIN_ACCESS``: a function,
called in the request, that returns ``True`` for who may see it. Without it,
everybody is refused and the log says so once.
"""

from __future__ import annotations

import logging
import typing as t
import weakref

from flask import Flask, abort, current_app
from flask_admin.form import SecureForm

logger = logging.getLogger(__name__)

#: Apps already told in the log that their admin is closed.
_told: weakref.WeakSet[Flask] = weakref.WeakSet()


def may_see_admin() -> bool:
    """Ask the host's ``ABANDON_ADMIN_ACCESS`` hook; closed when there is none."""
    access = current_app.config.get("ABANDON_ADMIN_ACCESS")

    if access is None:
        tell_closed(current_app._get_current_object())  # type: ignore[attr-defined]
        return False

    return bool(access())


def tell_closed(app: Flask) -> None:
    """Say once per app, in the log, why the admin refuses everybody."""
    if app in _told or app.config.get("ABANDON_ADMIN_ACCESS") is not None:
        return

    _told.add(app)
    logger.warning(
        "The flask-abandon admin is closed to everybody. Set ABANDON_ADMIN_ACCESS"
        " to a function returning True for who may see it, e.g. lambda:"
        " current_user.is_authenticated and current_user.is_admin"
    )


class Guarded:
    """Closed unless the host's hook says yes; anonymous visitors of a host
    using Flask-Login with a ``login_view`` are sent to log in."""

    def is_accessible(self) -> bool:
        return may_see_admin()

    def inaccessible_callback(self, name: str, **kwargs: t.Any) -> t.Any:
        manager = getattr(current_app, "login_manager", None)

        if manager is not None and manager.login_view:
            from flask_login import current_user

            if not current_user.is_authenticated:
                return manager.unauthorized()

        if current_app.debug and current_app.config["ABANDON_ADMIN_ACCESS"] is None:
            abort(403, description="The flask-abandon admin is closed until"
                  " ABANDON_ADMIN_ACCESS says who may see it.")

        abort(403)


def form_base(app: Flask) -> type[t.Any]:
    """The base of our forms: Flask-Admin's :class:`SecureForm`, or Flask-WTF's
    form where ``CSRFProtect`` checks every POST, so one token passes both."""
    if "csrf" in app.extensions:
        from flask_wtf import FlaskForm

        return FlaskForm

    return SecureForm

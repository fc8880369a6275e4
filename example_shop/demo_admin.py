"""A one-password login for the demo's admin, standing in for a real shop's
own staff login. The password is ``SHOP_ADMIN_PASSWORD`` ("demo")."""

from __future__ import annotations

import hmac
import typing as t

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

bp = Blueprint("demo_admin", __name__)


def is_shop_admin() -> bool:
    """The demo's ``ABANDON_ADMIN_ACCESS``: logged in with the password."""
    return bool(session.get("shop_admin"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> t.Any:
    error = None

    if request.method == "POST":
        given = request.form.get("password", "").encode()
        expected = current_app.config["SHOP_ADMIN_PASSWORD"].encode()

        if hmac.compare_digest(given, expected):
            session["shop_admin"] = True
            return redirect(current_app.config["ABANDON_ADMIN_URL"] + "/")

        error = "That is not the password."

    return render_template("demo_admin/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> t.Any:
    session.pop("shop_admin", None)
    return redirect(url_for("shop.index"))

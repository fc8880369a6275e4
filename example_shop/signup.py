"""A sign-up form in three steps, for the tea club.

Every step is tracked as a form journey; what the visitor typed lives in
their session, and flask-abandon keeps only the names of filled fields plus
the values ``ABANDON_FORM_SAFE_FIELDS`` allows (never the password).
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from .extensions import abandon
from .shop import check_email

bp = Blueprint("signup", __name__, url_prefix="/signup")

#: Each step and the fields it asks for, in order.
STEPS = {
    "account": ("email", "password"),
    "profile": ("name", "company"),
    "preferences": ("favourite_tea", "consent"),
}


@bp.route("/<step>", methods=["GET", "POST"])
def step(step: str) -> t.Any:
    if step not in STEPS:
        abort(404, description=f"There is no sign-up step {step!r}.")

    values = session.get("signup", {})
    error = None

    if request.method == "POST":
        posted = {name: request.form.get(name, "").strip() for name in STEPS[step]}
        error = check_step(step, posted)

        if error is None:
            values = {**values, **posted}
            session["signup"] = values

            if step == "account":
                session["email"] = posted["email"]

            if step == "preferences":
                session["consent"] = posted["consent"] == "yes"

            return advance(step, values)

    return render_template("signup/step.html", step=step, fields=STEPS[step],
                           values=values, error=error, steps=list(STEPS)), (
        400 if error else 200
    )


def check_step(step: str, posted: dict[str, str]) -> str | None:
    if step == "account":
        email, error = check_email(posted["email"])
        posted["email"] = email

        if error is None and len(posted["password"]) < 8:
            error = "Choose a password of at least 8 characters."

        return error

    if step == "profile" and not posted["name"]:
        return "Please tell us your name."

    return None


def advance(step: str, values: dict[str, str]) -> t.Any:
    """Track the step just filled, then go on, or finish on the last one."""
    steps = list(STEPS)
    done = step == steps[-1]
    abandon.track(
        "form",
        form="signup",
        step=step,
        fields={name: values.get(name) or None for name in sum(STEPS.values(), ())},
        email=values.get("email"),
        name=values.get("name") or None,
        consent=session.get("consent") if done else None,
    )

    if done:
        abandon.complete("form")
        session.pop("signup", None)
        return render_template("signup/done.html")

    return redirect(url_for("signup.step", step=steps[steps.index(step) + 1]))


@abandon.restorer("form")
def restore_signup(journey: t.Any) -> str:
    """Back to the step after the last one filled, with the kept values."""
    session["signup"] = dict(journey.data.get("values", {}))

    if journey.contact is not None:
        session["signup"]["email"] = journey.contact.email

    steps = list(STEPS)
    last = journey.step if journey.step in STEPS else steps[0]
    following = steps[min(steps.index(last) + 1, len(steps) - 1)]
    return url_for("signup.step", step=following)

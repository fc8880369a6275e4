"""Tea classes: search a date, pick a class, give your details, pay a deposit.

The booking is tracked at every step, so a visitor who stops gets the
booking emails; the restorers bring back the choice or the search.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .extensions import abandon, db
from .models import ClassBooking, CookingClass
from .shop import check_email

bp = Blueprint("classes", __name__, url_prefix="/classes")

LEVELS = ("any", "beginner", "advanced")


def search_args() -> dict[str, t.Any]:
    """The search in the query string, checked; 400 with a reason if bad."""
    try:
        date = dt.date.fromisoformat(request.args.get("date", ""))
        party = int(request.args.get("party", "1"))
    except ValueError:
        abort(400, description="Give a date like 2027-05-01 and a number of people.")

    level = request.args.get("level", "any")

    if not 1 <= party <= 6 or level not in LEVELS:
        abort(400, description="Classes take 1 to 6 people; levels are "
              + ", ".join(LEVELS) + ".")

    return {"date": date.isoformat(), "party": party, "level": level}


def seats_left(cooking_class: CookingClass, date: str) -> int:
    taken = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(ClassBooking.party), 0)).where(
            ClassBooking.class_id == cooking_class.id, ClassBooking.date == date
        )
    )
    return cooking_class.seats - int(taken)


@bp.get("/")
def search() -> t.Any:
    if "date" not in request.args:
        return render_template("classes/search.html", results=None, args={})

    args = search_args()
    query = sa.select(CookingClass).order_by(CookingClass.id)

    if args["level"] != "any":
        query = query.where(CookingClass.level == args["level"])

    results = [
        (cooking_class, seats_left(cooking_class, args["date"]))
        for cooking_class in db.session.scalars(query)
    ]
    session["class_search"] = args
    return render_template("classes/search.html", results=results, args=args)


@bp.post("/select/<int:class_id>")
def select(class_id: int) -> t.Any:
    cooking_class = db.get_or_404(CookingClass, class_id)
    args = session.get("class_search") or abort(400, description="Search first.")

    if seats_left(cooking_class, args["date"]) < args["party"]:
        abort(409, description="That class is full on this date.")

    session["class_choice"] = {"class_id": class_id, **args}
    track("selected")
    return redirect(url_for("classes.details"))


@bp.route("/details", methods=["GET", "POST"])
def details() -> t.Any:
    choice = current_choice()
    error = None

    if request.method == "POST":
        email, error = check_email(request.form.get("email", ""))

        if error is None:
            session["email"] = email
            session["name"] = request.form.get("name", "").strip()[:120] or None
            session["consent"] = request.form.get("consent") == "yes"
            track("details")
            return redirect(url_for("classes.pay"))

    return render_template("classes/details.html", choice=choice, error=error,
                           email=session.get("email", ""))


@bp.route("/pay", methods=["GET", "POST"])
def pay() -> t.Any:
    choice = current_choice()

    if not session.get("email"):
        return redirect(url_for("classes.details"))

    error = None

    if request.method == "POST":
        outcome = request.form.get("outcome")

        if outcome not in ("paid", "failed"):
            abort(400, description=f"Unknown way to pay: {outcome!r}.")

        abandon.record_payment(outcome, kind="booking", revenue=choice["total"])

        if outcome == "failed":
            error = "Your deposit was declined. Try another card."
        else:
            booking = ClassBooking(class_id=choice["class"].id, date=choice["date"],
                                   party=choice["party"], email=session["email"],
                                   total=choice["total"])
            db.session.add(booking)
            db.session.commit()
            session.pop("class_choice", None)
            return render_template("classes/booked.html", choice=choice)

    return render_template("classes/pay.html", choice=choice, error=error), (
        402 if error else 200
    )


def current_choice() -> dict[str, t.Any]:
    stored = session.get("class_choice") or abort(
        400, description="Choose a class first."
    )
    cooking_class = db.get_or_404(CookingClass, stored["class_id"])
    return {**stored, "class": cooking_class,
            "total": cooking_class.price * stored["party"]}


def track(step: str) -> None:
    """Tell flask-abandon what is being booked and the search behind it."""
    choice = current_choice()
    search = session.get("class_search") or {}
    abandon.track(
        "booking",
        selection={"what": choice["class"].name, "check_in": choice["date"],
                   "party": choice["party"], "price": choice["total"],
                   "url": url_for("classes.search", _external=True, **search)},
        search={"check_in": search.get("date"), "party": search.get("party"),
                "filters": {"level": search.get("level", "any")},
                "url": url_for("classes.search", _external=True, **search)},
        step=step,
        email=session.get("email"),
        name=session.get("name"),
        consent=session.get("consent"),
        currency="EUR",
    )


@abandon.restorer("booking")
def restore_booking(journey: t.Any) -> str:
    """Back to the details step with the same class, date and party."""
    selection = journey.data["selection"]
    cooking_class = class_named(selection["what"])

    if cooking_class is None:
        return url_for("classes.search")

    session["class_search"] = {"date": selection["check_in"],
                               "party": selection["party"], "level": "any"}
    session["class_choice"] = {"class_id": cooking_class.id,
                               **session["class_search"]}

    if journey.contact is not None:
        session["email"] = journey.contact.email

    return url_for("classes.details")


@abandon.availability_check("booking")
def class_has_seats(journey: t.Any) -> bool:
    selection = journey.data["selection"]
    cooking_class = class_named(selection["what"])
    return cooking_class is not None and (
        seats_left(cooking_class, selection["check_in"]) >= selection["party"]
    )


def class_named(name: str) -> CookingClass | None:
    """The class a tracked booking chose; bookings name it as ``what``."""
    return db.session.scalars(sa.select(CookingClass).filter_by(name=name)).first()

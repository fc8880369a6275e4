"""Tea classes: search a date, pick a class, give your details, pay a deposit.

The booking is tracked at every step, so a visitor who stops gets the
booking emails; the restorers bring back the choice or the search.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from flask_abandon import InvalidPayload

from .extensions import abandon, db
from .models import ClassBooking, CookingClass
from .shop import check_email

logger = logging.getLogger(__name__)

bp = Blueprint("classes", __name__, url_prefix="/classes")

LEVELS = ("any", "beginner", "advanced")
#: The most people one booking may bring.
MAX_PARTY = 6
#: How far ahead classes can be booked.
BOOKING_WINDOW = dt.timedelta(days=365)


def search_args() -> dict[str, t.Any]:
    """The search in the query string, checked; 400 with a reason if bad."""
    try:
        date = dt.date.fromisoformat(request.args.get("date", ""))
        party = int(request.args.get("party", "1"))
    except ValueError:
        abort(400, description="Give a date like 2027-05-01 and a number of people.")

    level = request.args.get("level", "any")

    if not 1 <= party <= MAX_PARTY or level not in LEVELS:
        abort(400, description=f"Classes take 1 to {MAX_PARTY} people; levels are "
              + ", ".join(LEVELS) + ".")

    today = dt.date.today()

    if not today < date <= today + BOOKING_WINDOW:
        abort(400, description="Choose a date from tomorrow to a year from now.")

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

    # A new search after choosing keeps the choice, and how far it got.
    track(None if "class_choice" in session else "searched")
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
    name = session.get("name") or ""
    email = session.get("email", "")
    error = None

    if request.method == "GET":
        track("details")
    else:
        name = request.form.get("name", "").strip()
        email, error = check_email(request.form.get("email", ""))

        if error is None and len(name) > 120:
            error = "Please shorten your name to 120 characters."

        if error is None:
            session["email"] = email
            session["name"] = name or None
            session["consent"] = request.form.get("consent") == "yes"
            track("payment")
            return redirect(url_for("classes.pay"))

    return render_template("classes/details.html", choice=choice, error=error,
                           name=name, email=email,
                           consent=session.get("consent")), 400 if error else 200


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

        # Seats may have gone since the class was chosen (or since the link
        # in a reminder was sent): nothing is charged for a full class.
        # Two payments for the last seats at the same moment can both pass;
        # a real shop would lock the class's row for the date.
        if seats_left(choice["class"], choice["date"]) < choice["party"]:
            abort(409, description="Sorry, that class filled up while you were"
                  " booking. Nothing was charged; please search again.")

        abandon.record_payment(outcome, kind="booking", revenue=choice["total"])

        if outcome == "failed":
            error = "Your deposit was declined. Try another card."
        else:
            return redirect(url_for("classes.booked", booking_id=confirm(choice)))

    return render_template("classes/pay.html", choice=choice, error=error), (
        402 if error else 200
    )


def confirm(choice: dict[str, t.Any]) -> int:
    """Book the seats, forget the choice; return the booking's id."""
    booking = ClassBooking(class_id=choice["class"].id, date=choice["date"],
                           party=choice["party"], name=session.get("name") or "",
                           email=session["email"], total=choice["total"])
    db.session.add(booking)
    db.session.commit()
    logger.info("Class booking %s confirmed", booking.id)
    session.pop("class_choice", None)
    session["class_bookings"] = [*session.get("class_bookings", []), booking.id][-20:]
    return booking.id


@bp.get("/booked/<int:booking_id>")
def booked(booking_id: int) -> t.Any:
    """The confirmation, shown only in the browser that booked."""
    if booking_id not in session.get("class_bookings", []):
        abort(404, description="There is no such booking in this browser.")

    booking = db.get_or_404(ClassBooking, booking_id)
    choice = {"class": booking.cooking_class, "date": booking.date,
              "party": booking.party, "total": booking.total}
    return render_template("classes/booked.html", choice=choice)


def current_choice() -> dict[str, t.Any]:
    stored = session.get("class_choice") or abort(
        400, description="Choose a class first."
    )
    cooking_class = db.get_or_404(CookingClass, stored["class_id"])
    return {**stored, "class": cooking_class,
            "total": cooking_class.price * stored["party"]}


def search_url(search: dict[str, t.Any], external: bool = False) -> str:
    return url_for("classes.search", _external=external, **search)


def track(step: str | None) -> None:
    """Tell flask-abandon what is being booked and the search behind it.

    A refusal is logged, not raised: the booking matters more than the
    reminder.
    """
    search = session.get("class_search") or {}
    selection = None

    if "class_choice" in session:
        choice = current_choice()
        selection = {"what": choice["class"].name, "check_in": choice["date"],
                     "party": choice["party"], "price": choice["total"],
                     "url": search_url(search, external=True)}

    try:
        abandon.track(
            "booking",
            selection=selection,
            search={"check_in": search.get("date"), "party": search.get("party"),
                    "filters": {"level": search.get("level", "any")},
                    "url": search_url(search, external=True)},
            step=step,
            email=session.get("email"),
            name=session.get("name"),
            consent=session.get("consent"),
            locale=current_app.config["SHOP_LOCALE"],
            currency=current_app.config["SHOP_CURRENCY"],
        )
    except InvalidPayload as error:
        logger.warning("Booking not tracked: %s", error)


@abandon.restorer("booking")
def restore_booking(journey: t.Any) -> str:
    """Back to the same class, date and party: to the deposit when we know
    who is booking, else to the details step. A class that has gone or
    filled up since leads to the search instead."""
    selection = journey.data["selection"]
    cooking_class = class_named(selection["what"])

    if cooking_class is None or not class_has_seats(journey):
        return restore_search(journey)

    search = journey.data.get("search") or {}
    level = (search.get("filters") or {}).get("level", "any")
    session["class_search"] = {"date": selection["check_in"],
                               "party": selection["party"],
                               "level": level if level in LEVELS else "any"}
    session["class_choice"] = {"class_id": cooking_class.id,
                               **session["class_search"]}
    contact = journey.contact

    if contact is None:
        return url_for("classes.details")

    session["email"] = contact.email
    session["consent"] = bool(contact.marketing_consent)

    if not contact.name:
        return url_for("classes.details")

    session["name"] = contact.name
    return url_for("classes.pay")


@abandon.restorer("booking", action="search")
def restore_search(journey: t.Any) -> str:
    """The saved search, run again; a date gone by is left for a new one."""
    search = journey.data.get("search") or {}
    date = search.get("check_in")

    if date is None or date <= dt.date.today().isoformat():
        return url_for("classes.search")

    level = (search.get("filters") or {}).get("level", "any")
    return search_url({"date": date, "party": search.get("party") or 1,
                       "level": level if level in LEVELS else "any"})


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

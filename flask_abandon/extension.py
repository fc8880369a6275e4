"""The :class:`Abandon` extension and the tracking API it offers the host."""

from __future__ import annotations

import functools
import logging
import typing as t
from decimal import Decimal

from flask import Flask, current_app, session
from flask_mail import Mail

from . import tracking
from .config import DEFAULTS, load_settings
from .errors import ConfigError, InvalidPayload
from .models import Journey, attach_tables
from .state import AbandonState, get_state

if t.TYPE_CHECKING:
    from flask_admin import Admin
    from flask_sqlalchemy import SQLAlchemy

logger = logging.getLogger(__name__)

#: Key in the Flask session holding ``{kind: journey key}``.
SESSION_KEY = "_abandon"

#: Called with the journey when its recovery link is opened; puts it back in
#: the visitor's session and returns where to send them (a URL or response).
Restorer = t.Callable[[Journey], t.Any]
#: Called with a booking before each reminder: is what it holds still free?
AvailabilityCheck = t.Callable[[Journey], bool]
#: Called with a browse session: products to suggest, as dicts like ``viewed``.
Recommender = t.Callable[[Journey], list[dict[str, t.Any]]]


class Abandon:
    """Abandonment tracking and recovery for a Flask shop.

    :param app: the app to set up now; or call :meth:`init_app` later.
    :param db: the shop's Flask-SQLAlchemy instance. Our tables join its
        metadata, so ``db.create_all()`` and migrations include them. When
        omitted, the one registered on the app is used.
    """

    def __init__(self, app: Flask | None = None, *, db: SQLAlchemy | None = None):
        self.db = db
        self.restorers: dict[tuple[str, str], Restorer] = {}
        self.availability_checks: dict[str, AvailabilityCheck] = {}
        self.recommenders: dict[str, Recommender] = {}

        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension on ``app``.

        Reads the ``ABANDON_*`` keys (defaults in
        :data:`flask_abandon.config.DEFAULTS`), checks them, adds the
        ``/abandon`` blueprint, the ``flask abandon`` commands and the admin
        at ``ABANDON_ADMIN_URL``, and sets up
        Flask-Mail when the app has not done so.

        :raises ConfigError: for a missing or invalid setting.
        :raises RuntimeError: when registered twice, or without a database.
        """
        if "abandon" in app.extensions:
            raise RuntimeError(
                "flask-abandon is already registered on this app; call"
                " init_app once per app."
            )

        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)

        settings = load_settings(app.config)

        if not (app.config["ABANDON_SENDER"] or app.config.get("MAIL_DEFAULT_SENDER")):
            raise ConfigError(
                "No sender for reminder emails: set ABANDON_SENDER or"
                " MAIL_DEFAULT_SENDER, e.g. ('Tea Shop', 'shop@example.com')."
            )

        db = self.db or app.extensions.get("sqlalchemy")

        if db is None:
            raise RuntimeError(
                "flask-abandon stores journeys with Flask-SQLAlchemy: pass"
                " Abandon(app, db=db), or call db.init_app(app) first."
            )

        self.db = db
        attach_tables(db.metadata)

        if "mail" not in app.extensions:
            Mail(app)

        # Our templates mark their text for translation. Flask-Babel, set up
        # before or after us, brings the translations; until then, English.
        if "gettext" not in app.jinja_env.globals:
            app.jinja_env.add_extension("jinja2.ext.i18n")
            app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

        app.extensions["abandon"] = AbandonState(self, app, db, settings)

        from .blueprint import blueprint
        from .cli import abandon_cli

        app.register_blueprint(blueprint, url_prefix=app.config["ABANDON_URL_PREFIX"])

        # Mail clients send one-click unsubscribes without a CSRF token, and
        # the tracking endpoint demands JSON, which other sites cannot send:
        # both are exempt from Flask-WTF's CSRFProtect, set up before or after.
        app.before_request(functools.partial(_exempt_from_csrf, app))
        app.cli.add_command(abandon_cli)

        from .admin import mount

        mount(app, db)

    def init_admin(self, admin: Admin) -> None:
        """Add the carts, reminders, contacts and dashboard to the host's
        Flask-Admin, in an "Abandonment" menu. Set ``ABANDON_ADMIN_URL = None``
        so the extension does not mount an admin of its own as well.
        """
        from .admin import attach

        if self.db is None:
            raise RuntimeError("call init_app (or Abandon(app)) before init_admin.")

        attach(admin, self.db)

    def restorer(
        self, kind: str, action: str = "continue"
    ) -> t.Callable[[Restorer], Restorer]:
        """Register the function that puts a journey of ``kind`` back.

        It runs when a recovery link is opened, in whatever browser opens it,
        and returns the URL (or response) to send the visitor on to::

            @abandon.restorer("cart")
            def restore_cart(journey):
                session["cart"] = {i["sku"]: i["quantity"] for i in journey.items}
                return url_for("shop.cart")

        Booking emails also link to the saved search: register its restorer
        with ``action="search"``. Browse sessions without a restorer get a page
        listing the products viewed.
        """

        def register(function: Restorer) -> Restorer:
            self.restorers[kind, action] = function
            return function

        return register

    def availability_check(
        self, kind: str = "booking"
    ) -> t.Callable[[AvailabilityCheck], AvailabilityCheck]:
        """Register the check run before each reminder of ``kind``: return
        ``False`` when what the journey holds (a room, a seat) has gone.

        A gone booking gets the "search again" email instead, or none when
        ``ABANDON_BOOKING_WHEN_UNAVAILABLE`` is ``"skip"``.
        """

        def register(function: AvailabilityCheck) -> AvailabilityCheck:
            self.availability_checks[kind] = function
            return function

        return register

    def recommender(
        self, kind: str = "browse"
    ) -> t.Callable[[Recommender], Recommender]:
        """Register what "similar products" emails suggest for a journey.

        The default suggests the most viewed products of the same categories.
        """

        def register(function: Recommender) -> Recommender:
            self.recommenders[kind] = function
            return function

        return register

    def track(
        self,
        kind: str,
        *,
        items: t.Any = None,
        selection: t.Any = None,
        search: t.Any = None,
        form: t.Any = None,
        fields: t.Any = None,
        viewed: t.Any = None,
        email: t.Any = None,
        name: t.Any = None,
        consent: bool | None = None,
        locale: t.Any = None,
        currency: t.Any = None,
        step: t.Any = None,
        ref: str | None = None,
    ) -> Journey | None:
        """Record what the current visitor holds now, and who they are.

        Call it whenever the journey changes. The journey is found by ``ref``
        (the shop's own id, if it has one) or through the Flask session, so a
        returning visitor updates their journey instead of starting another.
        Arguments left as ``None`` keep what was stored before.

        What each kind takes (see :mod:`flask_abandon.kinds`):

        - ``"cart"``: ``items``, dicts of ``sku``, ``name``, ``unit_price``
          (``Decimal`` or decimal string), ``quantity``, optional absolute
          ``url`` and ``image_url``;
        - ``"booking"``: ``selection`` (what, dates, party, price) and the
          ``search`` that found it;
        - ``"form"``: ``form`` (its name) and ``fields`` (name to value);
        - ``"browse"``: ``viewed``, one product. Recorded only for a known
          contact who gave marketing ``consent``; otherwise returns ``None``.

        :param email: the visitor's address, once known; ``name`` greets them.
        :param consent: whether they agreed to marketing email.
        :raises InvalidPayload: naming the field at fault; nothing is written.
        """
        state = self._state()
        self._check_kind(state, kind)
        given = {
            key: value
            for key, value in {
                "items": items, "selection": selection, "search": search,
                "form": form, "fields": fields, "viewed": viewed,
            }.items()
            if value is not None
        }
        session = state.session
        journey = tracking.find_journey(
            session, kind, key=self._session_key(kind), ref=ref
        )
        journey = tracking.track(
            session, state.settings, kind, journey=journey, given=given, ref=ref,
            email=email, name=name, consent=consent, locale=locale,
            currency=currency, step=step,
        )

        if journey is None:
            return None

        self.remember(journey)

        if kind == "cart" and items:
            self._end_browsing(state)

        session.commit()
        return journey

    def complete(
        self, kind: str, *, revenue: Decimal | None = None, ref: str | None = None
    ) -> Journey | None:
        """Mark the visitor's journey done: a form submitted, a booking
        confirmed. Its reminders are cancelled.

        :returns: the journey, or ``None`` if the visitor had none open.
        """
        state = self._state()
        self._check_kind(state, kind)
        journey = tracking.find_journey(
            state.session, kind, key=self._session_key(kind), ref=ref
        )

        if journey is not None:
            tracking.complete(state.session, journey, revenue=revenue)
            self.forget(kind)

        return journey

    def _end_browsing(self, state: AbandonState) -> None:
        """Adding to the cart is what a browse session hoped for."""
        key = self._session_key("browse")

        if key is None:
            return

        browsing = tracking.find_journey(state.session, "browse", key=key)

        if browsing is not None:
            tracking.complete(state.session, browsing, revenue=Decimal(0))

        self.forget("browse")

    def record_payment(
        self,
        outcome: str,
        *,
        kind: str = "cart",
        revenue: Decimal | None = None,
        ref: str | None = None,
    ) -> Journey | None:
        """Record the outcome of a payment: ``paid``, ``failed`` or ``pending``.

        ``paid`` completes the journey and cancels its reminders; so does
        ``pending`` when ``ABANDON_COUNT_PENDING_AS_PAID`` is set. A failed
        payment leaves the journey open to abandonment.

        :returns: the journey, or ``None`` if the visitor had none open.
        """
        state = self._state()
        self._check_kind(state, kind)
        journey = tracking.find_journey(
            state.session, kind, key=self._session_key(kind), ref=ref
        )

        if journey is None:
            return None

        completed = tracking.record_payment(
            state.session, journey, outcome, revenue=revenue,
            count_pending_as_paid=current_app.config["ABANDON_COUNT_PENDING_AS_PAID"],
        )

        if completed:
            self.forget(kind)

        return journey

    def remember(self, journey: Journey) -> None:
        """Keep the journey's key in the visitor's session."""
        keys = session.get(SESSION_KEY, {})

        if keys.get(journey.kind) != journey.key:
            session[SESSION_KEY] = {**keys, journey.kind: journey.key}


    def forget(self, kind: str) -> None:
        """Drop the visitor's journey of ``kind`` from their session."""
        keys = session.get(SESSION_KEY, {})

        if kind in keys:
            session[SESSION_KEY] = {k: v for k, v in keys.items() if k != kind}

    def _session_key(self, kind: str) -> str | None:
        return session.get(SESSION_KEY, {}).get(kind)

    @staticmethod
    def _state() -> AbandonState:
        return get_state(current_app)

    @staticmethod
    def _check_kind(state: AbandonState, kind: str) -> None:
        if kind not in state.settings.kinds:
            raise InvalidPayload(
                f"unknown kind {kind!r}; this shop tracks {list(state.settings.kinds)}",
                "kind",
            )


def _exempt_from_csrf(app: Flask) -> None:
    from .blueprint import blueprint

    csrf = app.extensions.get("csrf")

    if csrf is not None:
        csrf.exempt(blueprint)

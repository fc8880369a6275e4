"""Small helpers shared by the tests."""

from __future__ import annotations

import contextlib
import re
import threading
import typing as t
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.serving import make_server

from flask_abandon.models import Journey, Reminder


def idle(db: t.Any, journey_id: int, since: datetime) -> None:
    """Pretend the journey was last touched at ``since``."""
    db.session.execute(
        sa.update(Journey)
        .where(Journey.id == journey_id)
        .values(last_activity_at=since)
    )
    db.session.commit()


def reminders_of(db: t.Any, journey_id: int) -> list[Reminder]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Reminder).filter_by(journey_id=journey_id).order_by(Reminder.id)
        )
    )


def only_journey(db: t.Any) -> Journey:
    db.session.expire_all()
    return db.session.scalars(sa.select(Journey)).one()


def link(text: str, kind: str) -> str:
    """The first ``/abandon/<kind>/`` link in an email body."""
    match = re.search(rf"https?://\S+/abandon/{kind}/[\w.\-]+", text)
    assert match, f"no /abandon/{kind}/ link in {text!r}"
    return match.group(0)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@contextlib.contextmanager
def serving(app: t.Any, port: int, db: t.Any) -> t.Iterator[str]:
    """Serve ``app`` over real HTTP on 127.0.0.1 in a thread; yield its base
    URL. Drops the app's tables when done."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join()

        with app.app_context():
            db.session.remove()
            db.drop_all()

            for engine in db.engines.values():
                engine.dispose()

"""Running an RQ worker for the app, with its scheduler always on."""

from __future__ import annotations

from flask import Flask
from rq import SimpleWorker, Worker

from .jobs import get_queue, schedule_next_sweep, serve_app
from .state import get_state


def run_worker(app: Flask, *, burst: bool = False, fork: bool = True) -> bool:
    """Work the reminder queue until stopped; ``burst`` stops when it is empty.

    The scheduler runs too: reminders are scheduled jobs, and a worker
    without it would never send them. The periodic sweep is scheduled here.
    ``fork=False`` runs jobs in this process, for tests and debugging.

    :returns: whether any job was run.
    """
    state = get_state(app)

    # Forked jobs must not share this process's database connections.
    with app.app_context():
        for engine in state.db.engines.values():
            engine.dispose()

    serve_app(app)
    schedule_next_sweep(app)
    # With RQ 3.0 and redis-py 8.2, stopping may wait up to 60 s for RQ's
    # pub/sub thread (an upstream mismatch); nothing is lost meanwhile.
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class([get_queue(app)], connection=state.redis)
    return worker.work(burst=burst, with_scheduler=True)

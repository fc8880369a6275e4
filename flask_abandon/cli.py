"""The ``flask abandon`` commands."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from .jobs import run_sweep
from .models import Journey
from .privacy import erase_contact
from .state import get_state
from .worker import run_worker

abandon_cli = AppGroup("abandon", help="Abandoned journeys and their reminders.")


def require_tables() -> None:
    """Stop with a hint when our tables were never created."""
    engine = get_state(current_app).db.engine

    if not sa.inspect(engine).has_table(Journey.__tablename__):
        raise click.ClickException(
            f"The table {Journey.__tablename__} does not exist in {engine.url!r}."
            " Create the tables with db.create_all() or 'flask db upgrade'."
        )


@abandon_cli.command("sweep")
def sweep_command() -> None:
    """Abandon idle journeys now and queue their reminders."""
    require_tables()
    result = run_sweep(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(
        f"{result.abandoned} abandoned, {result.expired} expired,"
        f" {len(result.to_enqueue)} reminders queued"
    )


@abandon_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker_command(burst: bool) -> None:
    """Send reminders: an RQ worker with its scheduler, sweeping periodically."""
    require_tables()
    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@abandon_cli.command("erase")
@click.argument("email")
def erase_command(email: str) -> None:
    """Forget EMAIL: delete the contact and all their journeys."""
    erased = erase_contact(get_state(current_app).session, email)

    if erased is None:
        click.echo(f"No contact with the address {email}.")
    else:
        click.echo(f"Erased {email} and {erased} journeys.")

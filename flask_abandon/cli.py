"""The ``flask abandon`` commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .jobs import run_sweep
from .privacy import erase_contact
from .state import get_state
from .worker import run_worker

abandon_cli = AppGroup("abandon", help="Abandoned journeys and their reminders.")


@abandon_cli.command("sweep")
def sweep_command() -> None:
    """Abandon idle journeys now and queue their reminders."""
    result = run_sweep(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(
        f"{result.abandoned} abandoned, {result.expired} expired,"
        f" {len(result.to_enqueue)} reminders queued"
    )


@abandon_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker_command(burst: bool) -> None:
    """Send reminders: an RQ worker with its scheduler, sweeping periodically."""
    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@abandon_cli.command("erase")
@click.argument("email")
def erase_command(email: str) -> None:
    """Forget EMAIL: delete the contact and all their journeys."""
    erased = erase_contact(get_state(current_app).db.session, email)

    if erased is None:
        click.echo(f"No contact with the address {email}.")
    else:
        click.echo(f"Erased {email} and {erased} journeys.")

"""A mail catcher: an SMTP server on 127.0.0.1 that keeps every message as a
``.eml`` file instead of delivering it. The shop's ``/outbox`` shows them.

::

    python -m example_shop.mailcatcher --port 8025 --dir instance/mail
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import threading
import typing as t
from datetime import datetime, timezone

from aiosmtpd.controller import Controller

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


class SaveToFolder:
    """aiosmtpd handler writing each message to its own file in ``folder``.

    File names start with the time of arrival, so they sort oldest first.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.counter = itertools.count()
        os.makedirs(folder, exist_ok=True)

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{os.getpid()}-{next(self.counter)}.eml"
        path = os.path.join(self.folder, name)
        partial = f"{path}.part"

        # Written aside, then renamed, so the outbox never reads half a message.
        with open(partial, "wb") as file:
            file.write(envelope.content)

        os.replace(partial, path)
        logger.info("Caught mail to %s: %s", ", ".join(envelope.rcpt_tos), name)
        return "250 Message accepted for delivery"


def serve(port: int, folder: str) -> None:
    """Catch mail on ``127.0.0.1:port`` until SIGINT or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stop.set())
    signal.signal(signal.SIGINT, lambda *args: stop.set())
    controller = Controller(SaveToFolder(folder), hostname=HOST, port=port)
    controller.start()
    logger.info("Catching mail on %s:%d into %s", HOST, port, folder)

    try:
        stop.wait()
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m example_shop.mailcatcher",
        description="Keep mail sent to 127.0.0.1 as .eml files.",
    )
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", default=os.path.join("instance", "mail"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # aiosmtpd logs every connection, port probes included.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    serve(args.port, args.dir)


if __name__ == "__main__":
    main()

"""Absolute links for emails, built without a request.

Workers send mail far from any request, so links start from
``ABANDON_BASE_URL`` rather than from whatever host a request came in on.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from flask import Flask


def external_url(app: Flask, base_url: str, endpoint: str, **values: t.Any) -> str:
    """The absolute URL of ``endpoint`` under ``base_url``."""
    parts = urlsplit(base_url)
    adapter = app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)

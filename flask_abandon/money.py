"""Formatting amounts in their own currency and the reader's locale."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency


def format_money(amount: Decimal, currency: str | None, locale: str) -> str:
    """Format ``amount`` as a reader of ``locale`` expects to see it.

    The currency decides the decimals (15000 KRW has none) and the locale the
    symbols and their order (``12,80 €`` in German, ``€12.80`` in English).
    """
    if currency is None:
        return f"{amount:.2f}"

    return format_currency(amount, currency, locale=locale)

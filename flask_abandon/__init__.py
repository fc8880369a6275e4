"""Abandonment tracking and recovery emails for Flask shops."""

from pathlib import Path

from .errors import AbandonError, ConfigError, InvalidPayload
from .extension import Abandon

#: Our message catalogues, for Flask-Babel's ``BABEL_TRANSLATION_DIRECTORIES``.
TRANSLATIONS_DIR = str(Path(__file__).parent / "translations")

__all__ = [
    "TRANSLATIONS_DIR", "Abandon", "AbandonError", "ConfigError", "InvalidPayload",
]
__version__ = "0.1.0.dev0"

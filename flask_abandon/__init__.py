"""Abandonment tracking and recovery emails for Flask shops."""

from .errors import AbandonError, ConfigError, InvalidPayload
from .extension import Abandon

__all__ = ["Abandon", "AbandonError", "ConfigError", "InvalidPayload"]
__version__ = "0.1.0.dev0"

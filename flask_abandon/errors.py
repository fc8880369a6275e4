"""Exceptions raised by flask-abandon."""


class AbandonError(Exception):
    """Base class of the errors this extension raises on purpose."""


class ConfigError(AbandonError, ValueError):
    """An ``ABANDON_*`` setting is missing or invalid."""


class InvalidPayload(AbandonError, ValueError):
    """Tracking data was refused; ``field`` names the part at fault.

    Nothing was written when this is raised.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

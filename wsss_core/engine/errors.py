"""The engine's errors, importable without torch (the step logger catches them in every rule)."""


class DeviceError(RuntimeError):
    """The configured device is not there (``device: cuda`` and torch sees no GPU); the message says why."""

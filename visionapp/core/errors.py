"""Errors that carry a message a person can act on.

Every error visionapp raises on purpose derives from VisionappError; the CLI prints its message on
one line and exits 2, the GUI shows it and keeps running.
"""

from __future__ import annotations


class VisionappError(Exception):
    """Base class: the message says what went wrong and what to do."""


class BadInput(VisionappError):
    """A file, folder, camera or value the user gave cannot be used."""


class SourceError(BadInput):
    """A source could not be opened or stopped delivering frames."""


class UnknownProcessor(VisionappError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        super().__init__(
            f"unknown processor {name!r}; choose one of: {', '.join(sorted(known))} "
            "(run 'visionapp processors' for their parameters)"
        )


class ParameterError(VisionappError):
    """An unknown parameter, a value of the wrong type or out of range, or a broken rule between
    parameters. ``fields`` names the parameters involved (the GUI marks them, a chain file error
    points at their line)."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.fields = tuple(fields)


class ModelNotFound(VisionappError):
    """A weights file is neither on disk nor downloadable; the message names the fix."""


class OutputExists(VisionappError):
    pass


class ProcessorFailed(VisionappError):
    """A processor raised while handling a frame; ``name`` says which one."""

    def __init__(self, name: str, error: BaseException):
        self.name = name
        self.error = error
        super().__init__(f"processor {name!r} failed: {type(error).__name__}: {error}")

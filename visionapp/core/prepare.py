"""Getting a processor chain ready before its first frame: models found and loaded, or one error.

A processor may define ``prepare(self) -> None``: resolve and load what it needs now, raising a
VisionappError (ModelNotFound naming the file and the command that fetches or trains it) when it
cannot. Batch runs call :func:`prepare_chain` before the first frame, so a missing model ends the
run with one line instead of being drawn on every frame. Preparing loads models (seconds), so an
interactive caller runs it on a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable

from visionapp.core.errors import ProcessorFailed, VisionappError


def prepare_chain(processors: Iterable[object]) -> None:
    """Call ``prepare()`` on every processor that has one, in chain order.

    VisionappErrors pass through unchanged; anything else is wrapped in ProcessorFailed, which
    names the processor."""
    for processor in processors:
        prepare = getattr(processor, "prepare", None)
        if prepare is None:
            continue
        try:
            prepare()
        except VisionappError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the processor's name
            raise ProcessorFailed(getattr(processor, "name", type(processor).__name__),
                                  exc) from exc

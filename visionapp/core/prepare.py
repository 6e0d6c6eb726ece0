"""Getting a processor chain ready before its first frame: models found and loaded, or one error.

A processor may define ``prepare(self) -> None``: resolve and load what it needs now, raising a
VisionappError (ModelNotFound naming the file and the command that fetches or trains it) when it
cannot. Batch runs call :func:`prepare_chain` before the first frame, so a missing model ends the
run with one line instead of being drawn on every frame. Preparing loads models (seconds), so an
interactive caller runs it on a worker thread.

A processor that reads what an earlier one found (joint angles need body landmarks) declares
``needs: ClassVar[tuple[str, ...]]``: processors one of which must come before it in the chain.
:func:`missing_upstream` names what to add; :func:`prepare_chain` raises it as a BadInput.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from visionapp.core.errors import BadInput, ProcessorFailed, VisionappError


def missing_upstream(processors: Sequence[object]) -> str | None:
    """The first processor whose ``needs`` no earlier processor meets, as a message saying which
    processor to add before it; None when every need is met."""
    for position, processor in enumerate(processors):
        needs = tuple(getattr(processor, "needs", ()))
        if not needs:
            continue
        earlier = {getattr(p, "name", "") for p in processors[:position]}
        if earlier.isdisjoint(needs):
            name = getattr(processor, "name", type(processor).__name__)
            others = f" (or {', '.join(needs[1:])})" if len(needs) > 1 else ""
            return (f"{name} reads what {needs[0]}{others} finds: add -p {needs[0]} before "
                    f"-p {name}")
    return None


def prepare_chain(processors: Iterable[object]) -> None:
    """Check every processor's ``needs``, then call ``prepare()`` on every processor that has
    one, in chain order.

    VisionappErrors pass through unchanged; anything else is wrapped in ProcessorFailed, which
    names the processor."""
    processors = list(processors)
    problem = missing_upstream(processors)
    if problem is not None:
        raise BadInput(problem)
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

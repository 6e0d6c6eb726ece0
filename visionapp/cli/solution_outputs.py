"""What counting and heat-map processors add to a batch run: the events table beside ``--csv``,
the final heat map of each input saved as a PNG beside its outputs, and the totals printed after
each input. Every file is named and checked before any work, like the run's other outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionapp.core.atomic_file import check_output
from visionapp.core.output_plan import BatchOutputs, refuse_clashes


def writes_events(processors: tuple) -> bool:
    return any(getattr(p, "writes_events", False) for p in processors)


def events_path(csv_path: Path) -> Path:
    """``counts.csv`` → ``counts_events.csv``."""
    return csv_path.with_name(f"{csv_path.stem}_events{csv_path.suffix}")


@dataclass
class SolutionOutputs:
    """Per input: (heat-map processor, PNG path) pairs; the events table, if any."""

    heatmaps: list[list[tuple[Any, Path]]] = field(default_factory=list)
    events: Path | None = None
    unsaved_heatmap: bool = False  # a heat map with nowhere to go (no output named)


def plan_solution_outputs(plan: BatchOutputs, processors: tuple, inputs: tuple[str, ...],
                          force: bool) -> SolutionOutputs:
    """Name and check the extra files; an existing one is refused without ``force``."""
    out = SolutionOutputs()
    csv_path = plan.files.get("csv")
    if csv_path is not None and writes_events(processors):
        out.events = check_output(events_path(csv_path), force, "events CSV")
    makers = [p for p in processors if callable(getattr(p, "final_image", None))]
    shared_folder = next((p.parent for p in plan.files.values() if p is not None), None)
    for stem, video in zip(plan.stems, plan.videos, strict=True):
        folder = video.parent if video is not None else shared_folder
        stem = video.stem if video is not None else stem  # out.mp4 → out_heatmap.png
        if folder is None or not makers:
            out.heatmaps.append([])
            out.unsaved_heatmap |= bool(makers)
            continue
        names = [f"{stem}_{p.name}.png" if k == 0 else f"{stem}_{p.name}_{k + 1}.png"
                 for k, p in enumerate(makers)]
        out.heatmaps.append([(p, check_output(folder / n, force, "heat map"))
                             for p, n in zip(makers, names, strict=True)])
    named = [("events CSV", out.events)] if out.events is not None else []
    named += [("heat map", path) for pairs in out.heatmaps for _, path in pairs]
    named += [("--out", v) for v in plan.videos if v is not None]
    named += [(f"--{k}", v) for k, v in plan.files.items() if v is not None]
    refuse_clashes(named, inputs)
    return out


def save_heatmaps(pairs: list[tuple[Any, Path]]) -> list[str]:
    """Write each processor's final heat map (atomically); the names written."""
    from visionapp.core.outputs import write_image

    written = []
    for processor, path in pairs:
        image = processor.final_image()
        if image is not None:
            written.append(str(write_image(path, image)))
    return written


def summaries(processors: tuple) -> list[str]:
    """The totals of the input just done, from every processor that keeps them."""
    return [line for p in processors if callable(getattr(p, "summary", None))
            for line in p.summary()]

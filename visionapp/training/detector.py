"""Fine-tuning a YOLO detector on a YOLO-format dataset, streamed as typed progress events.

:func:`train` validates the dataset, then runs Ultralytics in a child process (so a crash or the
GPU memory it held goes away with that process) that streams JSON lines: an Epoch event per
epoch with losses and mAP, Batch events for the progress bar, then Finished. Stop requests
end the run after the current batch; the best epoch so far is kept. The best weights are saved
as ``<name>.pt`` in the trained-models folder (the checkout's ``models/``, or the user's data
folder for an installed copy; see :mod:`visionapp.paths`), where the ``yolo.detect`` processor
(and the resolver) find them — never over a file of that name unless ``force``.

Settings are checked when the config is created (ranges in the field metadata), so the CLI, the
dialog and the child reject the same values with the same one-line message. Every Ultralytics
load in the child is weights-only (:mod:`visionapp.processors.ultralytics_safe`): the pretrained
start, and the checkpoint this run writes, which the processor later loads the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import MISSING, asdict, dataclass
from pathlib import Path
from typing import ClassVar

from visionapp import paths
from visionapp.core.errors import VisionappError
from visionapp.core.params import param
from visionapp.training.child import child_channel, child_main, stream_child, work_dir
from visionapp.training.progress import (
    Batch,
    DatasetSummary,
    Device,
    Epoch,
    Event,
    Failed,
    Finished,
    Log,
)
from visionapp.training.saving import place_trained
from visionapp.training.settings import TrainingConfig


@dataclass(frozen=True)
class DetectorConfig(TrainingConfig):
    """Settings of a detector run. ``visionapp train-detector``'s options and the training
    dialog's form are made from these fields; every value is checked on creation."""

    owner: ClassVar[str] = "train-detector"

    data_yaml: str = param(MISSING, kind="path", help="the dataset's data.yaml (YOLO format)")
    weights: str = param("auto", kind="path",
                         help="the pretrained start: auto, a model name the resolver knows, or a "
                              "path")
    epochs: int = param(10, min=1, max=10000, help="passes over the training images")
    imgsz: int = param(640, min=32, max=4096, help="network input size in px")
    batch: int = param(16, min=1, max=4096, help="images per training step")
    device: str = param("auto", help="auto (every CUDA GPU, else the CPU), cpu, 0, or 0,1 for "
                                     "several GPUs (Ultralytics DDP)")
    name: str = param("detector", kind="name",
                      help="saved as NAME.pt in the trained-models folder (visionapp models "
                           "where)")
    force: bool = param(False, help="replace an existing NAME.pt")


def output_path(config: DetectorConfig) -> Path:
    return paths.trained_model_file(config.name, ".pt")


def describe_device(device: str) -> tuple[str, Device]:
    """(Ultralytics device string, where training runs)."""
    import torch

    count = torch.cuda.device_count()
    if device == "auto":
        device = ",".join(str(i) for i in range(count)) if count else "cpu"
    if device == "cpu":
        return "cpu", Device("training on the CPU (no CUDA GPU found): expect minutes per epoch")
    gpus = device.split(",")
    names = tuple(torch.cuda.get_device_name(int(g)) for g in gpus if g.isdigit())
    how = "DDP across GPUs" if len(gpus) > 1 else "one GPU"
    return device, Device(f"training on {how}: {', '.join(names)}", names)


def train(config: DetectorConfig, stop: threading.Event | None = None) -> Iterator[Event]:
    """Validate, train in a child process, save the best weights. The last event is Finished
    or Failed."""
    from visionapp.training.yolo_dataset import validate

    try:
        report = validate(Path(config.data_yaml))
    except Exception as exc:  # noqa: BLE001 - BadInput and YAML problems alike
        yield Failed(str(exc))
        return
    yield DatasetSummary(report.summary(), tuple(report.names), dict(report.images))
    for warning in report.warnings:
        yield Log(f"warning: {warning}")
    if report.errors:
        yield Failed("the dataset has problems; fix them and start again:\n- "
                     + "\n- ".join(report.errors))
        return
    target = output_path(config)
    if target.exists() and not config.force:
        yield Failed(f"{target} already exists; choose another name or allow replacing it")
        return
    for event in stream_child("visionapp.training.detector", asdict(config),
                              work_dir(config.name), stop):
        if isinstance(event, Finished):
            problem = place_trained([(Path(event.model_path), target)], force=config.force)
            stopped = stop is not None and stop.is_set()
            event = Failed(problem) if problem else Finished(
                str(target), f"{'stopped early; ' if stopped else ''}best weights saved to "
                f"{target}; pick '{target.name}' as yolo.detect weights", stopped=stopped)
        yield event


class _Stop(Exception):
    pass


def _child(config: DetectorConfig, work: Path) -> int:
    """Runs in the child process: stdout carries only JSON lines, everything else → stderr."""
    emit = child_channel()
    from visionapp.processors.ultralytics_safe import load_yolo
    from visionapp.processors.yolo_runtime import resolve_weights

    device, where = describe_device(config.device)
    emit(where)
    try:
        model = load_yolo(resolve_weights(config.weights))
    except VisionappError as exc:
        emit(Failed(f"pretrained start: {exc}"))
        return 1
    t0 = time.perf_counter()
    state = {"batches": 0}

    def on_batch_end(trainer) -> None:
        if (work / "STOP").exists():
            raise _Stop
        state["batches"] += 1
        per_epoch = max(1, len(trainer.train_loader))
        done = trainer.epoch + min(1.0, (state["batches"] % per_epoch or per_epoch) / per_epoch)
        emit(Batch(trainer.epoch + 1, trainer.epochs, done / trainer.epochs))

    def on_epoch_end(trainer) -> None:
        metrics = {k.replace("(B)", ""): round(float(v), 5) for k, v in {
            **trainer.label_loss_items(trainer.tloss, prefix="train"),
            **(trainer.metrics or {})}.items()}
        epoch = trainer.epoch + 1
        elapsed = time.perf_counter() - t0
        eta = elapsed / epoch * (trainer.epochs - epoch)
        emit(Epoch(epoch, trainer.epochs, epoch / trainer.epochs, eta, metrics))

    model.add_callback("on_train_batch_end", on_batch_end)
    model.add_callback("on_fit_epoch_end", on_epoch_end)
    try:
        model.train(data=str(Path(config.data_yaml).resolve()), epochs=config.epochs,
                    imgsz=config.imgsz, batch=config.batch, device=device,
                    project=str(work), name="run", exist_ok=True, plots=False, workers=0,
                    verbose=False, patience=max(10, config.epochs))
    except _Stop:
        emit(Log("stopped on request after the current batch"))
    trainer = model.trainer
    best = Path(trainer.best) if trainer is not None and trainer.best else None
    if best is None or not best.exists():
        last = Path(trainer.last) if trainer is not None and trainer.last else None
        best = last if last is not None and last.exists() else None
    if best is None:
        emit(Failed("training ended before the first epoch finished; nothing was saved"))
        return 1
    emit(Finished(str(best)))
    return 0


if __name__ == "__main__":
    child_main(DetectorConfig, _child)

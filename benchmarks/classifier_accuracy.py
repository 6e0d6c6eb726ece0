"""Cats vs dogs on the shared 1,999 photos (100×100), each kind trained exactly as
``visionapp train-classifier PHOTOS --kind K`` trains it with no other option (the kind's own
recipe), evaluated on images it never saw:

- course CNN (target ≥ 72%) and better CNN (target ≥ 80%, within about 10 minutes on 2 cores):
  the app's own seeded 70/15/15 split, accuracy on its 300 test images, the mean over
  ``--course-seeds`` (3 by default: about 1.5 minutes each) and ``--better-seeds`` seeds (1 by
  default: about 10 minutes), each drawing its own split and initialisation;
- MobileNetV2 transfer learning, frozen backbone and after fine-tuning, over ``--seeds`` seeds
  (3 by default): each seed draws its own stratified split with 25% held out for testing (500
  photos), 15% for validation (model selection) and 60% for training, and seeds the training.
  Targets: fine-tuned mean ≥ 94% and above the frozen mean.

Each run prints its wall time and the CPU time of its training process (on a shared machine
the wall time depends on the load, printed too; CPU time ÷ cores approximates an idle machine's
wall time).

    .venv/bin/python -m benchmarks.classifier_accuracy [--only course,better,transfer]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import shared, target
from benchmarks.classifier_common import header, held_out_split
from visionapp import paths
from visionapp.training.classifier import ClassifierConfig, train
from visionapp.training.progress import Epoch, Evaluation, Finished, Log

TARGETS = {"course": 0.72, "better": 0.80}


def run(config: ClassifierConfig) -> dict:
    """Train one model; its held-out metrics, frozen accuracy, epochs, wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    events = list(train(config))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = events[-1]
    if not isinstance(done, Finished):
        raise SystemExit(f"{config.kind}: training failed: {done.message}")
    evaluation = next(e for e in events if isinstance(e, Evaluation))
    return {"accuracy": done.metrics["accuracy"], "frozen": evaluation.frozen_accuracy,
            "epochs": max((e.epoch for e in events if isinstance(e, Epoch)), default=0),
            "wall": wall, "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime
                                                                       + before.ru_stime),
            "load": (load + os.getloadavg()[0]) / 2, "confusion": evaluation.confusion,
            "kept": next((e.message for e in events if isinstance(e, Log) and e.message.startswith(
                ("fine-tuning improved", "fine-tuning did not beat"))), "")}


def timing(r: dict) -> str:
    return (f"wall {r['wall'] / 60:.1f} min at load {r['load']:.1f}, CPU {r['cpu'] / 60:.1f} "
            f"min ({r['cpu'] / 60 / (os.cpu_count() or 1):.1f} min on {os.cpu_count()} idle "
            "cores)")


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1%} ± {spread:.1%}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="course,better,transfer")
    parser.add_argument("--seeds", type=int, default=3, help="transfer learning runs")
    parser.add_argument("--course-seeds", type=int, default=3, help="course CNN runs")
    parser.add_argument("--better-seeds", type=int, default=1, help="better CNN runs")
    args = parser.parse_args()
    print(header())
    photos = shared("data/cats_vs_dogs")
    work = Path(tempfile.mkdtemp(prefix="bench-classifier-"))
    paths.PROJECT_MODELS_DIR = work / "models"
    ok = True
    for kind in args.only.split(","):
        if kind in TARGETS:
            results = []
            seeds = args.course_seeds if kind == "course" else args.better_seeds
            for seed in range(1337, 1337 + seeds):
                config = ClassifierConfig(str(photos), kind=kind, seed=seed,
                                          name=f"bench_{kind}_{seed}")
                r = run(config)
                results.append(r)
                print(f"{kind} CNN, seed {seed}: held-out accuracy {r['accuracy']:.1%} "
                      f"(300 test photos, ± 2.3% standard error); {r['epochs']} epochs, "
                      f"{timing(r)}; confusion {r['confusion']}", flush=True)
            acc = statistics.mean(r["accuracy"] for r in results)
            good = acc >= TARGETS[kind]
            target(f"classifier_accuracy.{kind}", good,
                   f"{kind} CNN: {mean_std([r['accuracy'] for r in results])} over "
                   f"{len(results)} seed(s) (target >= {TARGETS[kind]:.0%})")
            if kind == "better":
                minutes = statistics.mean(r["cpu"] for r in results) / 60 / (os.cpu_count() or 1)
                wall = statistics.mean(r["wall"] for r in results) / 60
                fast = min(minutes, wall) <= 10
                target("classifier_accuracy.better_time", fast,
                       f"better CNN time: wall {wall:.1f} min at this load; {minutes:.1f} min of "
                       f"{os.cpu_count()} cores' CPU time, what an idle machine would take at "
                       "best (target <= 10)")
                good &= fast
            ok &= good
        elif kind == "transfer":
            frozen, tuned = [], []
            for seed in range(1, args.seeds + 1):
                split = held_out_split(photos, work / f"split_{seed}", seed)
                r = run(ClassifierConfig(str(split), kind="mobilenet_v2", seed=seed,
                                         name=f"bench_transfer_{seed}"))
                frozen.append(r["frozen"])
                tuned.append(r["accuracy"])
                print(f"transfer (MobileNetV2 α0.35 224, ImageNet), seed {seed}: 500 held-out "
                      f"photos: frozen backbone {r['frozen']:.1%}, after fine-tuning "
                      f"{r['accuracy']:.1%} ({r['kept']}); {r['epochs']} epochs, {timing(r)}",
                      flush=True)
            gain = statistics.mean(tuned) - statistics.mean(frozen)
            wins = sum(t > f for t, f in zip(tuned, frozen, strict=True))
            good = statistics.mean(tuned) >= 0.94 and gain > 0
            target("classifier_accuracy.transfer", good,
                   f"transfer over {len(tuned)} seeds: frozen {mean_std(frozen)}, fine-tuned "
                   f"{mean_std(tuned)} (target >= 94% and above frozen): {gain * 100:+.1f} "
                   f"points, better in {wins} of {len(tuned)}")
            ok &= good
        else:
            raise SystemExit(f"unknown run {kind!r}; choose from course, better, transfer")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

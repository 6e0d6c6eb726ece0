"""``visionapp train-classifier`` and ``visionapp train-detector``: training runs printed as
they progress."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from visionapp.core.errors import BadInput


def cmd_train_detector(args: argparse.Namespace) -> int:
    from visionapp.training.detector import DetectorConfig, train

    config = DetectorConfig(data_yaml=str(args.data_yaml), weights=args.weights,
                            epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
                            device=args.device, name=args.name, force=args.force)
    _report(train(config))
    return 0


def _report(events) -> object:
    """Print a training run's progress to stderr; an error event ends it with exit status 2.
    Returns the final ``done`` event."""
    done = None
    for event in events:
        if event.kind == "error":
            raise BadInput(event.message.replace("\n", " | "))
        if event.kind in ("log", "epoch", "done"):
            eta = f" (ETA {event.eta_s:.0f} s)" if event.eta_s else ""
            print(f"{event.message}{eta}", file=sys.stderr)
        if event.kind == "done":
            done = event
    return done


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from visionapp.training.classifier import ClassifierConfig, train

    config = ClassifierConfig(
        dataset=str(args.dataset), kind=args.kind, image_size=args.image_size,
        epochs=args.epochs, batch=args.batch, learning_rate=args.lr, schedule=args.schedule,
        fine_tune_layers=args.fine_tune_layers, fine_tune_epochs=args.fine_tune_epochs,
        fine_tune_lr=args.fine_tune_lr, dropout=args.dropout, l2=args.l2,
        augment=not args.no_augment, augmentation=args.augmentation, patience=args.patience,
        seed=args.seed,
        mixed_precision=args.mixed_precision, name=args.name, force=args.force)
    done = _report(train(config))
    if done is not None:
        print(json.dumps({"model": done.model_path, **{k: round(v, 4)
                                                       for k, v in done.metrics.items()},
                          "confusion": done.extra.get("confusion")}))
    return 0


def add_parsers(sub) -> None:
    """Register this module's commands on the ``visionapp`` subparsers."""
    p = sub.add_parser("train-detector", help="fine-tune YOLO on a YOLO-format data.yaml")
    p.add_argument("data_yaml", type=Path)
    p.add_argument("--weights", default="auto", help="pretrained start (default: auto)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--device", default="auto", help="auto, cpu, 0, or 0,1 for several GPUs")
    p.add_argument("--name", default="detector",
                   help="saved as NAME.pt in the trained-models folder (visionapp models where)")
    p.add_argument("--force", action="store_true", help="replace an existing NAME.pt")
    p.set_defaults(func=cmd_train_detector)

    p = sub.add_parser("train-classifier", help="train an image classifier on class folders")
    p.add_argument("dataset", type=Path, help="a folder with one subfolder per class")
    p.add_argument("--kind", default="mobilenet_v2",
                   choices=("course", "better", "mobilenet_v2", "vgg16", "efficientnet_b0"))
    p.add_argument("--image-size", type=int, default=0, help="0: the model kind's own")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", default="auto", choices=("auto", "plateau", "cosine"),
                   help="learning rate: halve on plateaus, or decay along a cosine (auto: "
                        "cosine for the better CNN and for fine-tuning, else plateau)")
    p.add_argument("--fine-tune-layers", type=int, default=0,
                   help="backbones: unfreeze this many top layers after the frozen phase")
    p.add_argument("--fine-tune-epochs", type=int, default=10)
    p.add_argument("--fine-tune-lr", type=float, default=1e-4)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--augmentation", default="auto", choices=("auto", "standard", "course"),
                   help="auto: the course's settings for the course CNN, else standard")
    p.add_argument("--patience", type=int, default=5,
                   help="early-stopping patience in epochs (plateau schedule; cosine runs "
                        "all its epochs)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--mixed-precision", action="store_true", help="GPU only")
    p.add_argument("--name", default="classifier",
                   help="saved as NAME.keras in the trained-models folder (visionapp models where)")
    p.add_argument("--force", action="store_true", help="replace an existing NAME.keras")
    p.set_defaults(func=cmd_train_classifier)

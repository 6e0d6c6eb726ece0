"""``visionapp processors`` and ``visionapp models``: what can run, and where model files are."""

from __future__ import annotations

import argparse
import json
import sys

from visionapp.core.errors import BadInput, VisionappError


def cmd_processors(args: argparse.Namespace) -> int:
    from visionapp.core import registry
    from visionapp.core.params import specs

    table = {}
    for name in registry.names():
        try:
            cls = registry.load(name)
        except VisionappError as exc:
            table[name] = {"error": str(exc)}
            continue
        doc = (cls.__doc__ or "").strip().splitlines()
        table[name] = {"summary": doc[0] if doc else "", "params": specs(cls)}
    if args.json:
        print(json.dumps({
            name: {"summary": v.get("summary", ""), "error": v.get("error"),
                   "params": [{"name": s.name, "type": s.type.__name__, "default": s.default,
                               "min": s.min, "max": s.max, "choices": s.choices,
                               "help": s.help} for s in v.get("params", [])]}
            for name, v in table.items()}, indent=2))
        return 0
    for name, entry in table.items():
        if "error" in entry:
            print(f"{name}  (unavailable: {entry['error']})")
            continue
        print(f"{name}  — {entry['summary']}")
        for spec in entry["params"]:
            print(f"    {spec.describe()}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from visionapp.core import weights

    if args.action == "list":
        for model in weights.KNOWN_MODELS.values():
            where = weights.find_local(model.name)
            state = str(where) if where else "not on disk"
            print(f"{model.name:42s} {model.description}\n{'':42s} {state}")
        return 0
    if args.action == "where":
        if args.name:
            print(weights.resolve(args.name, download=False))
            print(_models_where(), file=sys.stderr)
        else:
            print(_models_where())
        return 0
    if args.name not in weights.KNOWN_MODELS:
        raise BadInput(f"unknown model {args.name!r}; known: "
                       + ", ".join(weights.KNOWN_MODELS))
    found = weights.find_local(args.name)
    if found is not None and not args.force:
        print(f"{args.name} is already at {found}")
        return 0
    try:
        path = weights.fetch(args.name)
    except OSError as exc:
        raise BadInput(f"could not download {args.name}: {exc}; check the internet connection "
                       f"or copy the file into {weights.search_dirs()[0]}") from None
    print(path)
    return 0


def _models_where() -> str:
    """Where trained models are saved, and the order model files are searched in."""
    from visionapp import paths

    kind = ("a source checkout" if paths.is_source_checkout()
            else "an installed package; set VISIONAPP_DATA_DIR or XDG_DATA_HOME to move it")
    lines = [f"trained models are saved to: {paths.trained_models_dir()} ({kind})",
             "model files are searched in this order:",
             "  1. an explicit path (e.g. --set yolo.detect.weights=/path/to/model.pt)"]
    search = paths.model_search_dirs()
    for i, (folder, what) in enumerate(search, start=2):
        lines.append(f"  {i}. {folder}  — {what}")
    if paths.env_models_dir() is None:
        lines.append(f"     (set {paths.MODELS_DIR_ENV} to add a folder before the downloads)")
    lines.append(f"  {len(search) + 2}. a download from the official URL, for the models "
                 "'visionapp models list' shows (not with VISIONAPP_OFFLINE=1)")
    return "\n".join(lines)


def add_parsers(sub) -> None:
    """Register this module's commands on the ``visionapp`` subparsers."""
    p = sub.add_parser("processors", help="list processors with their parameters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_processors)

    p = sub.add_parser("models", help="list, locate or download model files; 'where' says "
                                      "where trained models go and the search order")
    p.add_argument("action", choices=("list", "fetch", "where"))
    p.add_argument("name", nargs="?")
    p.add_argument("--force", action="store_true", help="fetch even if a copy exists")
    p.set_defaults(func=cmd_models)

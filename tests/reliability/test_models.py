"""Model files: no checkpoint can run code, every model error is one line naming the file and the
fix, batch runs stop before the first frame when a model is missing, and trained models go to a
folder the user can write to (the checkout's models/, or the XDG data folder when installed)."""

from __future__ import annotations

import builtins
import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from visionapp import paths
from visionapp.cli import main
from visionapp.core import registry, weights
from visionapp.core.errors import BadInput, ModelNotFound, ProcessorFailed
from visionapp.core.model_cache import MODELS
from visionapp.core.prepare import prepare_chain
from visionapp.core.types import Frame
from visionapp.processors import ultralytics_safe, yolo_runtime

REPO = Path(__file__).resolve().parents[2]


def frame(h: int = 64, w: int = 64) -> Frame:
    return Frame(np.zeros((h, w, 3), np.uint8), 0, 0)


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: the marker file appears if it ever runs."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


class _ShellPayload(_Payload):
    """The classic one: ``os.system("touch marker")`` (a module torch blocks by name)."""

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


@pytest.fixture(params=[_Payload, _ShellPayload], ids=["open", "os.system"])
def evil(tmp_path, request) -> tuple[Path, Path]:
    """A checkpoint shaped like Ultralytics' (a dict with "model") carrying a real payload."""
    import torch

    marker = tmp_path / "PAYLOAD_RAN"
    path = tmp_path / "evil.pt"
    torch.save({"model": request.param(marker), "train_args": {}, "epoch": -1}, path)
    assert not marker.exists()
    return path, marker


@pytest.fixture
def no_cached_loads():
    """Every load in the test really reads its file (no model cached by an earlier test)."""
    MODELS.discard("yolo")
    ultralytics_safe.check_checkpoint.cache_clear()
    yield
    MODELS.discard("yolo")
    ultralytics_safe.check_checkpoint.cache_clear()


# ----------------------------------------------------------------------------- .pt safety


def test_crafted_checkpoint_via_cli_is_refused_and_never_runs(evil, tmp_path):
    path, marker = evil
    out = tmp_path / "out.mp4"
    env = {**os.environ, "VISIONAPP_OFFLINE": "1"}
    env.pop("ULTRALYTICS_SAFE_LOAD", None)
    result = subprocess.run(
        [sys.executable, "-m", "visionapp.cli", "process", "demo:frames=3", "-p", "yolo.detect",
         "--set", f"yolo.detect.weights={path}", "--out", str(out), "-q"],
        capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert not marker.exists(), "the checkpoint's payload ran"
    assert result.returncode == 2, result.stderr[-2000:]
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("visionapp: error: ") and str(path) in lines[0]
    assert "refused" in lines[0] and "visionapp models fetch" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("backend", ["pytorch", "accelerate"])
def test_crafted_checkpoint_via_chain_file_and_processor(evil, tmp_path, backend, capsys,
                                                         no_cached_loads):
    path, marker = evil
    chain = tmp_path / "chain.toml"
    chain.write_text(f'[[processors]]\nname = "yolo.detect"\n'
                     f'params = {{ weights = "{path}", backend = "{backend}" }}\n')
    assert main(["process", "demo:frames=2", "--chain", str(chain), "-q"]) == 2
    assert not marker.exists(), "the checkpoint's payload ran"
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "refused" in lines[0] and str(path) in lines[0]
    processor = registry.create("yolo.detect", {"weights": str(path), "backend": backend})
    with pytest.raises(ModelNotFound, match="refused"):
        processor.prepare()
    with pytest.raises(ModelNotFound, match="refused"):
        processor(frame())
    assert not marker.exists(), "the checkpoint's payload ran"


def _spy_torch_load(monkeypatch) -> list:
    import torch

    calls = []
    real = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    return calls


def test_shared_yolo_weights_load_and_export_weights_only(shared, tmp_path, monkeypatch,
                                                          no_cached_loads):
    calls = _spy_torch_load(monkeypatch)
    pt = tmp_path / "yolov8n.pt"
    shutil.copyfile(shared("models/yolov8n.pt"), pt)
    image = np.zeros((160, 160, 3), np.uint8)
    result = registry.create("yolo.detect", {"weights": str(pt), "backend": "pytorch",
                                             "imgsz": 160})(Frame(image, 0, 0))
    assert result.text[0].startswith("YOLO pytorch")
    exported = yolo_runtime.export_model(pt, (160, 160), "openvino")
    assert (exported / "metadata.yaml").is_file()
    assert len(calls) >= 2 and all(flag is True for flag in calls), calls
    import ultralytics.nn.tasks

    assert ultralytics.nn.tasks.SAFE_LOAD is True


def test_ultralytics_never_pip_installs(tmp_path):
    """Even with YOLO_AUTOINSTALL=true in the user's environment, visionapp's Ultralytics has
    installs off: a missing requirement starts no pip (or uv) process."""
    code = (
        "import json, os, subprocess\n"
        "from visionapp.processors.ultralytics_safe import import_ultralytics\n"
        "import_ultralytics()\n"
        "from ultralytics.utils import checks\n"
        "checks.ONLINE = True\n"
        "calls = []\n"
        "def record(*a, **k):\n"
        "    calls.append(a[0] if a else k.get('args'))\n"
        "    raise subprocess.CalledProcessError(1, 'pip')\n"
        "subprocess.check_output = record\n"
        "subprocess.run = record\n"
        "ok = checks.check_requirements('visionapp-no-such-package-4711')\n"
        "print(json.dumps({'ok': ok, 'calls': [str(c) for c in calls],\n"
        "                  'env': os.environ.get('YOLO_AUTOINSTALL'),\n"
        "                  'safe': os.environ.get('ULTRALYTICS_SAFE_LOAD')}))\n")
    env = {**os.environ, "YOLO_AUTOINSTALL": "true", "YOLO_CONFIG_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["calls"] == [] and report["ok"] is False
    assert report["env"] == "false" and report["safe"] == "1"


def test_corrupt_yolo_weights_say_visionapp_models_fetch(tmp_path, monkeypatch, capsys,
                                                         no_cached_loads):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "yolov8n.pt").write_bytes(b"PK\x03\x04" + os.urandom(3000))
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", folder)
    assert main(["process", "demo:frames=2", "-p", "yolo.detect", "--set",
                 "yolo.detect.weights=yolov8n.pt", "--set", "yolo.detect.backend=pytorch",
                 "-q"]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1, lines
    assert "visionapp models fetch yolov8n.pt" in lines[0] and "yolo predict" not in lines[0]
    assert str(folder / "yolov8n.pt") in lines[0]


# ----------------------------------------------------------------------------- Keras safety


def _card(path: Path, classes=("a", "b"), size: int = 8) -> None:
    path.with_suffix(".json").write_text(json.dumps({"class_names": list(classes),
                                                     "image_size": size}))


def test_keras_lambda_layer_is_refused(tmp_path, capsys):
    from visionapp.core.frameworks import before_tensorflow

    before_tensorflow()
    import keras

    marker = tmp_path / "LAMBDA_RAN"
    # A Lambda layer whose function touches a marker file: Keras saves its bytecode, and an
    # unsafe load calls it while rebuilding the model.
    payload = eval(f"lambda t: (__import__('pathlib').Path({str(marker)!r}).touch(), t)[1]")
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Lambda(payload)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    marker.unlink()  # building the model called it once
    path = tmp_path / "lambda.keras"
    model.save(path)
    _card(path)
    with pytest.raises(BadInput) as info:
        registry.create("classifier", {"model": str(path)})(frame())
    text = str(info.value)
    assert "\n" not in text and str(path) in text and "refused" in text
    assert "visionapp train-classifier" in text
    image = tmp_path / "still.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    assert main(["process", str(image), "-p", "classifier", "--set",
                 f"classifier.model={path}", "-q"]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "refused" in lines[0]
    assert not marker.exists()


def _zip_without_config(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")


@pytest.mark.parametrize("content", ["random", "empty", "zip_without_config"])
def test_non_model_keras_file_names_file_and_fix(tmp_path, content):
    path = tmp_path / "thing.keras"
    if content == "random":
        path.write_bytes(os.urandom(2048))
    elif content == "empty":
        path.write_bytes(b"")
    else:
        _zip_without_config(path)
    _card(path)
    with pytest.raises(BadInput) as info:
        registry.create("classifier", {"model": str(path)})(frame())
    text = str(info.value)
    assert "File not found" not in text and "\n" not in text
    assert str(path) in text and "not a Keras model" in text
    assert "visionapp train-classifier" in text


def test_missing_models_name_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "none")
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(tmp_path / "empty"))
    cases = {"classifier": ({"model": "pets.keras"},
                            "visionapp train-classifier DATASET_FOLDER --name pets"),
             "yolo.detect": ({"weights": "mine.pt"}, "visionapp train-detector"),
             "mediapipe.hands": ({}, "visionapp models fetch hand_landmarker.task")}
    for name, (params, fix) in cases.items():
        with pytest.raises(ModelNotFound) as info:
            registry.create(name, params).prepare()
        text = str(info.value)
        assert fix in text and "\n" not in text, text
        assert (params.get("model") or params.get("weights") or "hand_landmarker.task") in text


# ----------------------------------------------------------------------------- batch: prepare


def test_batch_with_a_missing_classifier_model_stops_before_the_first_frame(tmp_path,
                                                                           monkeypatch, capsys):
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "models")
    out, records = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    code = main(["process", "demo:frames=5", "-p", "classifier", "--out", str(out),
                 "--detections", str(records), "-q"])
    lines = error_lines(capsys.readouterr().err)
    assert code == 2
    assert len(lines) == 1 and "'classifier.keras' not found" in lines[0]
    assert "visionapp train-classifier" in lines[0]
    assert not out.exists() and not records.exists()
    assert list(tmp_path.glob("*.tmp*")) == [] and list(tmp_path.glob(".*")) == []


def test_the_window_still_waits_for_a_classifier_model(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path)
    result = registry.create("classifier", {"model": "later.keras"})(frame())
    assert "no model 'later.keras' yet" in result.text[0]


def test_damaged_mediapipe_file_is_caught_before_the_first_frame(tmp_path, capsys):
    bad = tmp_path / "hand_landmarker.task"
    bad.write_bytes(b"\x00" * 1024)
    code = main(["process", "demo:frames=3", "-p", "mediapipe.hands", "--set",
                 f"mediapipe.hands.model={bad}", "-q"])
    lines = error_lines(capsys.readouterr().err)
    assert code == 2 and len(lines) == 1
    assert str(bad) in lines[0] and "visionapp models fetch hand_landmarker.task" in lines[0]


def test_prepare_chain_names_the_processor_of_an_unexpected_failure():
    class Broken:
        name = "broken.one"

        def prepare(self) -> None:
            raise RuntimeError("disk on fire")

    class Plain:
        name = "plain"

    with pytest.raises(ProcessorFailed, match="'broken.one' failed: RuntimeError: disk on fire"):
        prepare_chain([Plain(), Broken()])


def test_prepare_loads_the_runtime_the_first_frame_uses(shared, no_cached_loads):
    processor = registry.create("yolo.detect", {"weights": str(shared("models/yolov8n.pt")),
                                                "backend": "pytorch", "imgsz": 160})
    processor.prepare()
    assert len(MODELS.entries("yolo")) == 1 and MODELS.loads["yolo"] >= 1
    loads, hits = MODELS.loads["yolo"], MODELS.hits["yolo"]
    processor(frame(120, 200))
    assert len(MODELS.entries("yolo")) == 1 and MODELS.hits["yolo"] >= hits + 1  # no second load
    assert MODELS.loads["yolo"] == loads


# ----------------------------------------------------------------------------- where models go


def test_source_checkout_saves_to_models_and_searches_the_data_folder_too(tmp_path,
                                                                         monkeypatch, capsys):
    assert paths.is_source_checkout()
    assert paths.trained_models_dir() == paths.PROJECT_MODELS_DIR
    data_models = paths.user_trained_models_dir()
    data_models.mkdir(parents=True)
    (data_models / "elsewhere.pt").write_text("trained by an installed copy")
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "checkout_models")
    assert weights.resolve("elsewhere.pt", download=False) == data_models / "elsewhere.pt"
    assert main(["models", "where"]) == 0
    out = capsys.readouterr().out
    assert f"trained models are saved to: {tmp_path / 'checkout_models'}" in out
    assert out.index(str(tmp_path / "checkout_models")) < out.index(str(data_models))
    assert "source checkout" in out


def test_installed_copy_saves_to_the_xdg_data_folder(tmp_path):
    """A copy of the package inside a site-packages folder (as pip installs it) writes trained
    models to $XDG_DATA_HOME/visionapp/models, never into its own install folder."""
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    shutil.copytree(REPO / "visionapp", site / "visionapp",
                    ignore=shutil.ignore_patterns("__pycache__"))
    xdg = tmp_path / "xdg_data"
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "from visionapp import cli, paths\n"
        f"assert paths.__file__.startswith({str(site)!r}), paths.__file__\n"
        "from visionapp.training.detector import DetectorConfig, output_path\n"
        "from visionapp.training.classifier import ClassifierConfig, output_paths\n"
        "print('DETECTOR', output_path(DetectorConfig('data.yaml', name='cars')))\n"
        "print('CLASSIFIER', output_paths(ClassifierConfig('photos', name='pets'))[0])\n"
        "raise SystemExit(cli.main(['models', 'where']))\n")
    env = {k: v for k, v in os.environ.items() if k != "VISIONAPP_DATA_DIR"}
    env.update(XDG_DATA_HOME=str(xdg), VISIONAPP_OFFLINE="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    expected = xdg / "visionapp" / "models"
    assert f"DETECTOR {expected / 'cars.pt'}" in out
    assert f"CLASSIFIER {expected / 'pets.keras'}" in out
    assert f"trained models are saved to: {expected}" in out and "installed package" in out
    assert str(site / "models") not in out

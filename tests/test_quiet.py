"""A quiet terminal: frameworks' own lines and warnings only with ``-v``; and MediaPipe loaded
without the TensorFlow import it makes for a docs decorator."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=REPO, env=os.environ.copy(), timeout=300)


def test_cli_prints_mediapipes_native_lines_only_with_verbose(shared, tmp_path):
    image = str(shared("data/images/lena.jpg"))
    env = {**os.environ, "VISIONAPP_MODELS_DIR": str(shared("models/blaze_face_short_range.tflite")
                                                    .parent)}
    runs = {}
    for flag in ([], ["-v"]):
        out = tmp_path / f"d{len(flag)}.jsonl"
        runs[bool(flag)] = subprocess.run(
            [sys.executable, "-m", "visionapp", *flag, "process", image, "--chain",
             str(REPO / "resources/presets/faces.toml"), "--detections", str(out), "-q"],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
        assert runs[bool(flag)].returncode == 0, runs[bool(flag)].stderr
        assert '"mediapipe.face_detection"' in out.read_text()
    assert runs[False].stderr == ""
    assert "XNNPACK" in runs[True].stderr or "INFO: [" in runs[True].stderr


def test_framework_warnings_only_with_verbose():
    code = """
import sys, warnings
from visionapp.core import logs
logs.configure(verbose=sys.argv[1] == "-v")
warnings.warn_explicit("torch.jit.script is deprecated", FutureWarning, "torch/jit/x.py", 1,
                       module="torch.jit._script")
warnings.warn_explicit("CUDA initialization: no NVIDIA driver", UserWarning, "torch/cuda/x.py",
                       1, module="torch.cuda")
warnings.warn_explicit("visionapp's own warning", UserWarning, "visionapp/x.py", 1,
                       module="visionapp.x")
import os
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "unset"), os.environ.get("YOLO_VERBOSE"))
"""
    quiet, verbose = _python(code, "-q"), _python(code, "-v")
    assert "deprecated" not in quiet.stderr and "CUDA initialization" not in quiet.stderr
    assert "visionapp's own warning" in quiet.stderr  # ours are never hidden
    assert quiet.stdout.split() == ["3", "false"]
    assert "torch.jit.script is deprecated" in verbose.stderr
    assert "CUDA initialization" in verbose.stderr
    assert verbose.stdout.split() == ["unset", "true"]


def test_mediapipe_loads_without_tensorflow_and_face_mesh_still_works(shared):
    code = """
import sys, cv2
from visionapp.core.types import Frame
from visionapp.processors.mediapipe_tasks import FaceMesh
image = cv2.imread(sys.argv[1])
result = FaceMesh()(Frame(image, 0, 0, still=True))
print(len(result.landmarks), len(result.landmarks[0].points_xy), "tensorflow" in sys.modules)
"""
    shared("models/face_landmarker.task")  # tests/conftest.py points the models folder there
    run = _python(code, str(shared("data/images/lena.jpg")))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "478", "False"]


def test_the_stand_in_is_left_out_when_tensorflow_is_already_there():
    code = """
import sys, types
from visionapp.core import frameworks
sys.modules["tensorflow"] = types.ModuleType("tensorflow")
print(frameworks.mediapipe_without_tensorflow(), frameworks.MEDIAPIPE_DOCS_MODULE in sys.modules)
"""
    assert _python(code).stdout.split() == ["False", "False"]

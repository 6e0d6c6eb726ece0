import functools
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from visionapp import paths
from visionapp.core import weights
from visionapp.core.errors import BadInput, ModelNotFound, OutputExists
from visionapp.core.outputs import AtomicTextWriter, AtomicVideoWriter, check_output


def test_resolution_order(tmp_path, monkeypatch):
    project, env, cache = tmp_path / "project", tmp_path / "env", tmp_path / "cache"
    for folder in (project, env, cache / "models"):
        folder.mkdir(parents=True)
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", project)
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(env))
    monkeypatch.setenv("VISIONAPP_CACHE_DIR", str(cache))
    (cache / "models" / "m.pt").write_text("cache")
    assert weights.resolve("m.pt").read_text() == "cache"
    (env / "m.pt").write_text("env")
    assert weights.resolve("m.pt").read_text() == "env"
    (project / "m.pt").write_text("project")
    assert weights.resolve("m.pt").read_text() == "project"
    explicit = tmp_path / "mine.pt"
    explicit.write_text("explicit")
    assert weights.resolve(str(explicit)) == explicit.resolve()


def test_offline_error_names_file_folders_and_command(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "nothing")
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(ModelNotFound) as info:
        weights.resolve("yolo11n.pt")
    text = str(info.value)
    assert "'yolo11n.pt' not found" in text and str(tmp_path / "empty") in text
    assert "visionapp models fetch yolo11n.pt" in text


@pytest.fixture
def http_dir(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_checks_checksum_and_renames_atomically(http_dir, tmp_path):
    root, base = http_dir
    payload = b"weights" * 1000
    (root / "w.bin").write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "dl"
    path = weights.fetch("w.bin", url=f"{base}/w.bin", sha256=good, dest_dir=dest, progress=False)
    assert path.read_bytes() == payload
    with pytest.raises(ModelNotFound, match="corrupt"):
        weights.fetch("x.bin", url=f"{base}/w.bin", sha256="0" * 64, dest_dir=dest,
                      progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["w.bin"]  # no partial file left


def test_check_output_refuses_existing_and_missing_folder(tmp_path):
    existing = tmp_path / "a.mp4"
    existing.write_bytes(b"precious")
    with pytest.raises(OutputExists, match="--force"):
        check_output(existing, force=False)
    assert check_output(existing, force=True) == existing
    with pytest.raises(BadInput, match="does not exist"):
        check_output(tmp_path / "nope" / "b.mp4", force=False)
    assert existing.read_bytes() == b"precious"


def test_video_writer_uses_temp_name_until_commit(tmp_path):
    out = tmp_path / "v.mp4"
    writer = AtomicVideoWriter(out, 10)
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    assert not out.exists()
    writer.commit()
    assert out.stat().st_size > 0 and len(list(tmp_path.iterdir())) == 1


def test_aborted_text_writer_leaves_nothing(tmp_path):
    out = tmp_path / "d.jsonl"
    writer = AtomicTextWriter(out)
    writer.write("{}\n")
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_text_writer_disk_full_is_a_clear_error(tmp_path, monkeypatch):
    writer = AtomicTextWriter(tmp_path / "d.jsonl")

    def full(_text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer._fh, "write", full)
    with pytest.raises(BadInput, match="No space left on device; free some disk space"):
        writer.write("x")
    writer.abort()
    assert not Path(tmp_path / "d.jsonl").exists()

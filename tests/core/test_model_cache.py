"""The one model cache: keyed by resolved path, mtime and options; close hooks; least recently
used eviction; lookups on disk remembered for a while, failures never."""

from __future__ import annotations

import os

import pytest

from visionapp.core.errors import ModelNotFound
from visionapp.core.model_cache import ModelCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Loads "models" (the file's text), records every load and every close."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.closed: list[str] = []

    def load(self, path) -> str:
        text = path.read_text()
        self.loaded.append(text)
        return text

    def close(self, value: str) -> None:
        self.closed.append(value)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.bin"
    path.write_text("v1")
    return path


def test_loaded_once_per_options_and_a_new_version_replaces_the_old(model):
    cache, loader = ModelCache(recheck_s=0.0), Loader()
    a = cache.load("kind", model, ("fast",), loader.load, close=loader.close)
    assert cache.load("kind", model, ("fast",), loader.load, close=loader.close) is a
    cache.load("kind", model, ("slow",), loader.load, close=loader.close)
    assert loader.loaded == ["v1", "v1"] and cache.hits["kind"] == 1 and cache.loads["kind"] == 2
    model.write_text("v2")
    os.utime(model, ns=(1, model.stat().st_mtime_ns + 10**9))  # a new version of the file
    assert cache.load("kind", model, ("fast",), loader.load, close=loader.close) == "v2"
    assert loader.closed == ["v1"]  # the old version of ("fast",) is closed at once
    assert sorted(k.options for k in cache.entries("kind")) == [("fast",), ("slow",)]


def test_least_recently_used_entries_are_closed_beyond_the_limit(tmp_path):
    cache, loader = ModelCache(max_entries=2, recheck_s=0.0), Loader()
    files = []
    for name in ("a", "b", "c"):
        (tmp_path / name).write_text(name)
        files.append(tmp_path / name)
    cache.load("k", files[0], (), loader.load, close=loader.close)
    cache.load("k", files[1], (), loader.load, close=loader.close)
    cache.load("k", files[0], (), loader.load, close=loader.close)  # a is now the newest
    cache.load("k", files[2], (), loader.load, close=loader.close)
    assert loader.closed == ["b"] and [k.path for k in cache.entries()] == [str(files[0]),
                                                                         str(files[2])]
    cache.load("other", files[1], (), loader.load, close=loader.close)  # another kind: its own
    cache.load("k", files[2], ("x",), loader.load, close=loader.close)  # ... limit
    assert loader.closed == ["b", "a"] and [k.kind for k in cache.entries()] == ["k", "other",
                                                                                   "k"]
    cache.close()
    assert sorted(loader.closed) == ["a", "b", "b", "c", "c"] and cache.entries() == []


def test_a_failed_load_is_not_cached(model):
    cache = ModelCache()
    calls = []

    def broken(path):
        calls.append(path)
        raise ModelNotFound("damaged")

    for _ in range(2):
        with pytest.raises(ModelNotFound):
            cache.load("k", model, (), broken)
    assert len(calls) == 2 and cache.entries() == []


def test_lookups_on_disk_are_remembered_for_recheck_s(model):
    clock = Clock()
    cache, loader = ModelCache(recheck_s=1.0, clock=clock), Loader()
    found = []

    def resolver(name):
        found.append(name)
        return model

    for _ in range(5):  # five frames within a second: one search, one stat
        assert cache.get("k", "m.bin", (), loader.load, resolver=resolver) == "v1"
    assert found == ["m.bin"]
    model.write_text("v2")
    os.utime(model, ns=(1, model.stat().st_mtime_ns + 10**9))
    assert cache.get("k", "m.bin", (), loader.load, resolver=resolver) == "v1"  # not yet seen
    clock.now += 1.5
    assert cache.get("k", "m.bin", (), loader.load, resolver=resolver) == "v2"
    assert found == ["m.bin", "m.bin"]


def test_a_missing_model_is_looked_for_again_and_folder_settings_count(model, monkeypatch):
    cache = ModelCache(recheck_s=60.0)
    calls = []

    def resolver(name):
        calls.append(name)
        if len(calls) == 1:
            raise ModelNotFound("not yet")
        return model

    with pytest.raises(ModelNotFound):
        cache.resolve("k", "m.bin", resolver)
    assert cache.resolve("k", "m.bin", resolver) == model  # the failure was not remembered
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(model.parent))
    assert cache.resolve("k", "m.bin", resolver) == model
    assert len(calls) == 3  # another models folder: searched again


def test_discard_closes_one_kind_only(model):
    cache, loader = ModelCache(), Loader()
    cache.load("a", model, (), loader.load, close=loader.close)
    cache.load("b", model, (), loader.load, close=loader.close)
    cache.discard("a")
    assert [k.kind for k in cache.entries()] == ["b"] and loader.closed == ["v1"]

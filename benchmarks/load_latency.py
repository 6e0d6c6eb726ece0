"""Load latency in the window's playback: from adding a processor to its first result, and how old
the frames shown meanwhile are (the video must never stop for a load).

One run, one process, the window's own PlaybackSession on the real-time ``demo:`` scene (30 fps,
latest-frame-wins, like a camera), driven from one thread as the window's worker drives it. The
chain grows one processor at a time, each added after the last one's first result:

- haar.faces                                   target ≤ 0.3 s to its first result
- mediapipe.face_mesh (MediaPipe not imported)  target ≤ 2 s
- yolo.detect, its OpenVINO export cached       target ≤ 4 s (the export is made first, in a
  child process, so this process loads it cold: torch, Ultralytics, OpenVINO, the network)
- frame age (capture → delivered) p95 over every packet delivered while a load runs:
  target ≤ 2 frame intervals (66.7 ms at 30 fps)

It also times ``import mediapipe`` in fresh processes with and without visionapp's stand-in for
MediaPipe's TensorFlow-only docs module (:mod:`visionapp.core.frameworks`).

    .venv/bin/python -m benchmarks.load_latency [--fps 30] [--no-import-compare]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks._common import REPO, machine, verdict
from visionapp.core import registry
from visionapp.core.playback import PlaybackSession
from visionapp.core.playback_messages import ChainSlot, OpenSource, Packet, SetChain

TARGETS_S = {"haar.faces": 0.3, "mediapipe.face_mesh": 2.0, "yolo.detect": 4.0}
SETTLE_S = 1.5  # playing between two additions
LOAD_TIMEOUT_S = 120.0

IMPORT_SNIPPET = """
import sys, time
t0 = time.perf_counter()
if sys.argv[1] == "stand-in":
    from visionapp.core.frameworks import mediapipe_without_tensorflow
    mediapipe_without_tensorflow()
import mediapipe
from mediapipe.tasks.python import vision
print(f"{time.perf_counter() - t0:.3f} {int('tensorflow' in sys.modules)}")
"""


def import_seconds(mode: str) -> tuple[float, bool]:
    """Seconds ``import mediapipe`` (+ its vision tasks) takes in a fresh process, and whether
    TensorFlow got imported with it."""
    out = subprocess.run([sys.executable, "-c", IMPORT_SNIPPET, mode], capture_output=True,
                         text=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                         check=True).stdout.split()
    return float(out[-2]), out[-1] == "1"


def export_yolo_first(size_wh: tuple[int, int]) -> None:
    """Make the OpenVINO export for the demo's frame size in a child process (a no-op when it
    is cached already), so the measured process finds it cached but has loaded nothing."""
    w, h = size_wh
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "visionapp", "process",
                        f"demo:size={w}x{h},frames=2", "-p", "yolo.detect", "--detections",
                        os.path.join(tmp, "d.jsonl"), "-q"], cwd=REPO, check=True)


class Drive:
    """The worker's side of the session protocol on this thread; records every packet with the
    time it came out."""

    def __init__(self) -> None:
        self.gen = PlaybackSession().run(wait=self._wait)
        self.packets: list[tuple[float, Packet]] = []
        self._pending = None
        next(self.gen)

    @staticmethod
    def _wait(seconds: float) -> bool:
        time.sleep(min(seconds, 0.002))
        return False

    def send(self, command) -> None:
        self._note(self.gen.send(command))

    def _note(self, answer) -> None:
        if isinstance(answer, Packet):
            self.packets.append((time.perf_counter(), answer))

    def run_until(self, done, timeout_s: float) -> bool:
        end = time.perf_counter() + timeout_s
        while time.perf_counter() < end:
            answer = self.gen.send(None)
            if answer is None:
                time.sleep(0.001)
                continue
            self._note(answer)
            if isinstance(answer, Packet) and done(answer):
                return True
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=30.0, help="the demo scene's frame rate")
    parser.add_argument("--size", default="640x480", help="the demo scene's frame size")
    parser.add_argument("--no-import-compare", action="store_true",
                        help="skip timing the MediaPipe import in two fresh processes")
    args = parser.parse_args(argv)
    from visionapp.core import logs

    logs.configure(verbose=False)
    print(machine())
    size_wh = tuple(int(v) for v in args.size.lower().split("x"))
    interval_ms = 1000.0 / args.fps
    print(f"source: demo:size={args.size},fps={args.fps:g} (live; frame interval "
          f"{interval_ms:.1f} ms)")
    if not args.no_import_compare:
        plain, tf_plain = import_seconds("plain")
        stand_in, tf_stand_in = import_seconds("stand-in")
        print(f"[mediapipe import] {plain:.2f} s as shipped (TensorFlow imported: {tf_plain}) → "
              f"{stand_in:.2f} s with the stand-in (TensorFlow imported: {tf_stand_in})")
    t0 = time.perf_counter()
    export_yolo_first(size_wh)
    print(f"(YOLO export ready in the cache after {time.perf_counter() - t0:.1f} s, "
          "in a child process)")

    drive = Drive()
    drive.send(OpenSource(f"demo:size={args.size},fps={args.fps:g}"))
    drive.run_until(lambda p: False, SETTLE_S)
    slots: list[ChainSlot] = []
    results: dict[str, float] = {}
    loading_ages: list[float] = []
    # The same chains with nothing loading (each settle period before the next addition): what
    # the frame age is anyway on this machine, so the cost of loading itself can be told apart.
    steady_ages = [(at - p.frame.captured_s) * 1000 for at, p in drive.packets]
    ok = True
    for key, name in enumerate(TARGETS_S, start=1):
        slots.append(ChainSlot(key, registry.create(name)))
        start = time.perf_counter()
        first = len(drive.packets)
        drive.send(SetChain(tuple(slots), key))
        got = drive.run_until(lambda p, k=key: k in p.keys and k not in p.loading,
                              LOAD_TIMEOUT_S)
        results[name] = (time.perf_counter() - start) if got else float("inf")
        during = [(at - p.frame.captured_s) * 1000 for at, p in drive.packets[first:-1]]
        loading_ages += during
        load_s = drive.packets[-1][1].load_s.get(key, float("nan"))
        age = f"frame age p95 {np.percentile(during, 95):.1f} ms over {len(during)} frames" \
            if during else "no frame delivered meanwhile"
        passed = results[name] <= TARGETS_S[name]
        ok &= passed
        print(f"[{name}] {verdict(passed)} first result after {results[name]:.2f} s vs target "
              f"≤ {TARGETS_S[name]:g} s (load + warm-up {load_s:.2f} s; {age})")
        settled = len(drive.packets)
        drive.run_until(lambda p: False, SETTLE_S)
        if name != list(TARGETS_S)[-1]:
            steady_ages += [(at - p.frame.captured_s) * 1000 for at, p in drive.packets[settled:]]
    p95 = float(np.percentile(loading_ages, 95)) if loading_ages else float("inf")
    passed = p95 <= 2 * interval_ms
    ok &= passed
    print(f"[frame age during loads] {verdict(passed)} p95 {p95:.1f} ms vs target ≤ "
          f"{2 * interval_ms:.1f} ms (2 frame intervals; {len(loading_ages)} frames); the same "
          f"chains with nothing loading: p95 {np.percentile(steady_ages, 95):.1f} ms")
    steady = [(at - p.frame.captured_s) * 1000 for at, p in drive.packets[-30:]]
    print(f"(after every load: frame age p50 {np.median(steady):.1f} ms with all three running)")
    drive.gen.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

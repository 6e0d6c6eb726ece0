"""``visionapp process --cluster ADDRESS``: the inputs of a batch job spread over a Ray cluster.

The unit of work is one input file, so trackers, counters and recorders see their frames in
order. Work goes to a pool of Ray *actors* (:class:`~visionapp.cli.cluster_worker.FileWorker`),
not Ray Data's ``map_batches``: an actor loads the chain's models once and then takes file
after file; the driver hands out files as actors come free, asks them for frame counts for one
progress bar, tells them to stop after the frame in hand on Ctrl-C, and, when an actor's process
dies, gives its file to a fresh actor. Ray Data would split files into row batches and hide all
four behind its own scheduler.

Outputs: the plan (names, clashes, ``--force``) is made here exactly as for a local run; workers
write each input's video and frames atomically under those names (on a real cluster the output
folders must be one shared file system path, mounted at the same place on every node); the
driver merges the JSON lines, CSV, COCO and text shares in input order, writes them atomically,
and adds ``summary.json`` (one entry per input) beside the outputs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

from visionapp.cli.batch_run import remove_stale, say
from visionapp.cli.cluster_worker import DIE_HOOK_ENV, FileResult, FileTask, FileWorker, merge_shard
from visionapp.core.batch_job import BatchJob
from visionapp.core.errors import BadInput, ParameterError
from visionapp.core.interrupts import SIGNALS, Interrupts, describe

CONNECT_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 3  # per file: a file whose worker dies this often fails alone
CANCEL_WAIT_S = 60.0  # after Ctrl-C, how long running files get to stop after their frame


@dataclass(frozen=True)
class ClusterOptions:
    """``address``: "local", "auto" or "ray://host:port"; resources per worker; ``workers`` 0:
    as many as the cluster's CPUs allow."""

    address: str = "local"
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    workers: int = 0

    def __post_init__(self) -> None:
        if self.address not in ("local", "auto") and not self.address.startswith("ray://"):
            raise ParameterError(f"--cluster {self.address!r}: give local (a Ray instance on "
                                 "this machine), auto (the running cluster) or ray://HOST:PORT")
        if not self.cpus_per_worker > 0:
            raise ParameterError("--worker-cpus must be above 0")
        if self.gpus_per_worker < 0:
            raise ParameterError("--worker-gpus must be 0 or more")
        if self.workers < 0:
            raise ParameterError("--workers must be 0 (as many as fit) or more")


def _import_ray():
    try:
        import ray
    except ImportError:
        raise BadInput("--cluster needs Ray, which is not installed: pip install "
                       "'visionapp[cluster]' (or run without --cluster)") from None
    return ray


def connect(address: str):
    """Ray, initialised for ``address`` (an already initialised Ray is used as it is); and
    whether this call started it (and so must shut it down)."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray, False
    where = {"local": "a local Ray instance", "auto": "the running Ray cluster"}.get(address,
                                                                                    address)
    if address.startswith("ray://"):  # Ray's client waits 30 s on a dead port: ask first
        host, _, port = address.removeprefix("ray://").partition("/")[0].rpartition(":")
        try:
            socket.create_connection((host, int(port or 10001)), CONNECT_TIMEOUT_S).close()
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot reach the Ray cluster at {address} ({exc}); check the "
                           "address and that the head node runs 'ray start --head'") from None
    settings = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    handlers = {s: signal.getsignal(s) for s in SIGNALS}
    try:
        ray.init(address=None if address == "local" else address, **settings)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if address == "auto":
            raise BadInput("--cluster auto found no running Ray cluster on this machine; "
                           "start one with 'ray start --head', or use --cluster local") from None
        raise BadInput(f"cannot start or join {where}: {exc}") from None
    finally:  # Ray's driver installs its own SIGTERM handler, which would kill the run
        if threading.current_thread() is threading.main_thread():
            for signum, handler in handlers.items():
                if handler is not None:
                    signal.signal(signum, handler)
    return ray, True


def _summary_path(plan, job: BatchJob) -> Path | None:
    """``summary.json`` in the first output folder: --out's, then the result files'."""
    candidates = [v for v in plan.videos if v is not None]
    candidates += [p for p in plan.files.values() if p is not None]
    if plan.frames_dir is not None:
        candidates.append(plan.frames_dir / "x")
    return candidates[0].parent / "summary.json" if candidates else None


def _absolute(spec: str) -> str:
    """An input path as workers open it: absolute, but links kept (a link's name is the
    input's name in the records)."""
    path = Path(spec).expanduser()
    return os.path.abspath(path) if path.exists() else spec


def run_cluster_job(job: BatchJob, interrupts: Interrupts, options: ClusterOptions) -> int:
    """Run ``job`` on the cluster; the exit status (0 all files done, 2 some failed, 128 +
    signal when interrupted)."""
    from visionapp.core.export import Exports
    from visionapp.core.network_sources import is_stream_url, shown_spec
    from visionapp.core.output_plan import plan_batch_outputs
    from visionapp.core.outputs import check_output

    if any(is_stream_url(s) or s.strip().isdigit() for s in job.inputs):
        raise BadInput("--cluster runs files; cameras and network streams run on this machine "
                       "(drop --cluster)")
    plan = plan_batch_outputs(job.inputs, out=job.out, frames_dir=job.frames_dir,
                              force=job.force, files=job.files)
    summary = _summary_path(plan, job)
    if summary is not None:
        summary = check_output(summary, job.force, "summary file")
    if plan.files["txt"] and not any(getattr(p, "reads_text", False)
                                     for p in job.processors()):
        raise ParameterError("--txt writes the text the chain reads, and no processor in it "
                             "reads text: add -p ocr")
    remove_stale(plan.folders())
    tasks = [FileTask(i, spec, _absolute(spec), stem, str(video) if video else None,
                      str(plan.frames_dir) if plan.frames_dir else None, i in plan.shared)
             for i, (spec, stem, video) in enumerate(zip(job.inputs, plan.stems, plan.videos,
                                                         strict=True))]
    ray, owned = connect(options.address)
    exports = Exports(plan.files["detections"], plan.files["csv"], plan.files["coco"],
                      plan.files["txt"])
    try:
        run = _ClusterRun(ray, job, options, tasks, exports, interrupts)
        code = run.go()
    except BaseException:
        exports.abort()
        raise
    finally:
        if owned:
            ray.shutdown()
    _after_death(plan)
    shown = [shown_spec(s) for s in job.inputs]
    if summary is not None:
        run.write_summary(summary, shown)
    if not job.quiet:
        run.print_table(shown)
    return code


def _after_death(plan) -> None:
    """Remove what workers that died left (their temporaries on this host)."""
    from visionapp.core.outputs import remove_stale_temporaries

    for folder in plan.folders():
        removed = remove_stale_temporaries(folder)
        if removed:
            say(f"removed {len(removed)} temporary file(s) a dead worker left in {folder}")


class _ClusterRun:
    """The driver's loop: hand out files, merge finished shares in input order, retry files
    whose worker died, stop on Ctrl-C."""

    def __init__(self, ray, job: BatchJob, options: ClusterOptions, tasks: list[FileTask],
                 exports, interrupts: Interrupts):
        self.ray, self.job, self.options = ray, job, options
        self.tasks, self.exports, self.interrupts = tasks, exports, interrupts
        self.results: dict[int, FileResult] = {}
        self.attempts = {t.position: 0 for t in tasks}
        self.merged = 0  # inputs before this position are merged (or had nothing to merge)
        self.t0 = time.perf_counter()
        self.remote = ray.remote(FileWorker).options(
            num_cpus=options.cpus_per_worker, num_gpus=options.gpus_per_worker,
            max_concurrency=2, max_restarts=0)
        self.die_hook = os.environ.get(DIE_HOOK_ENV)
        self.interrupted = False

    def _worker_count(self) -> int:
        if self.options.workers:
            return min(self.options.workers, len(self.tasks))
        cpus = self.ray.cluster_resources().get("CPU", 1.0)
        return max(1, min(len(self.tasks), int(cpus // self.options.cpus_per_worker)))

    def _new_worker(self):
        return self.remote.remote(self.job, self.die_hook)

    def go(self) -> int:
        from tqdm import tqdm

        queue = deque(self.tasks)
        idle = [self._new_worker() for _ in range(self._worker_count())]
        busy: dict = {}  # ObjectRef → (actor, task)
        bar = tqdm(total=len(self.tasks), desc="cluster", unit="file", file=sys.stderr,
                   disable=self.job.quiet, dynamic_ncols=True)
        last_poll = 0.0
        try:
            while (queue or busy) and not self.interrupts.stop.is_set():
                while queue and idle:
                    actor, task = idle.pop(), queue.popleft()
                    self.attempts[task.position] += 1
                    busy[actor.run.remote(task)] = (actor, task)
                ready, _ = self.ray.wait(list(busy), num_returns=1, timeout=0.25)
                for ref in ready:
                    actor, task = busy.pop(ref)
                    alive = self._collect(ref, task, queue)
                    idle.append(actor if alive else self._new_worker())
                    if task.position in self.results:
                        bar.update(1)
                if time.perf_counter() - last_poll > 1.0:
                    last_poll = time.perf_counter()
                    bar.set_postfix_str(self._rate([a for a, _ in busy.values()] + idle))
            if self.interrupts.stop.is_set():
                return self._interrupted(busy, queue)
        finally:
            bar.close()
        self.exports.commit()
        failed = [r for r in self.results.values() if r.status in ("failed", "error")]
        for r in sorted(failed, key=lambda r: r.position):
            say(f"error: {self.tasks[r.position].spec}: {r.message}")
        if failed:
            say(f"{len(failed)} of {len(self.tasks)} input(s) failed: "
                + ", ".join(self.tasks[r.position].spec for r in failed))
        return 2 if failed else 0

    def _collect(self, ref, task: FileTask, queue: deque) -> bool:
        """Record a finished run; False when its worker died (the file is queued again, or
        failed after MAX_ATTEMPTS)."""
        from ray.exceptions import RayActorError, WorkerCrashedError

        try:
            result = self.ray.get(ref)
        except (RayActorError, WorkerCrashedError) as exc:
            if self.attempts[task.position] < MAX_ATTEMPTS:
                say(f"a worker died while processing {task.spec}; running it again on another "
                    "worker")
                queue.appendleft(task)
            else:
                self._record(FileResult(task.position, "failed", message=(
                    f"its worker died {MAX_ATTEMPTS} times ({type(exc).__name__})")))
            return False
        self._record(result)
        return True

    def _record(self, result: FileResult) -> None:
        self.results[result.position] = result
        self._merge_ready()

    def _merge_ready(self) -> None:
        while self.merged in self.results:
            done = self.results[self.merged]
            if done.status in ("done", "error"):
                merge_shard(self.exports, done)
            self.merged += 1

    def _rate(self, actors: list) -> str:
        from ray.exceptions import RayError

        try:
            frames = sum(self.ray.get([a.progress.remote() for a in actors], timeout=2.0))
        except (RayError, TimeoutError):
            return ""
        seconds = time.perf_counter() - self.t0
        return f"{frames} frames, {frames / seconds:.1f} frames/s"

    def _interrupted(self, busy: dict, queue: deque) -> int:
        """Stop running files after their frame in hand, keep what completed, say so."""
        for actor, _ in busy.values():
            actor.cancel.remote()
        deadline = time.perf_counter() + CANCEL_WAIT_S
        while busy and time.perf_counter() < deadline:
            ready, _ = self.ray.wait(list(busy), num_returns=1, timeout=0.25)
            for ref in ready:
                _, task = busy.pop(ref)
                self._collect(ref, task, deque())
        for actor, _ in busy.values():
            self.ray.kill(actor)
        for position in range(len(self.tasks)):  # merge every complete file, in order
            self.results.setdefault(position, FileResult(position, "stopped"))
        self._merge_ready()
        self.interrupted = True
        done = [self.tasks[p].spec for p, r in sorted(self.results.items())
                if r.status in ("done", "error")]
        cut = [t.spec for t in self.tasks if self.results[t.position].status == "stopped"
               and self.attempts[t.position]]
        waiting = [t.spec for t in queue]
        signum = self.interrupts.signum
        parts = [f"interrupted by {describe(signum)}"]
        if done:
            kept = [str(p) for p in self.exports.commit(partial=True)]
            named = [n for p, r in sorted(self.results.items()) for n in r.named]
            parts.append("complete: " + ", ".join(done))
            if named or kept:
                parts.append("kept " + ", ".join(named + kept))
        else:
            self.exports.abort()
            parts.append("no input was complete; no existing file was touched")
        if cut:
            parts.append("stopped, nothing kept: " + ", ".join(cut))
        if waiting:
            parts.append("not started: " + ", ".join(waiting))
        say("; ".join(parts))
        return 128 + signum

    def write_summary(self, path: Path, shown: list[str]) -> None:
        from visionapp.core.outputs import AtomicTextWriter

        files = []
        for task in self.tasks:
            r = self.results.get(task.position, FileResult(task.position, "stopped"))
            files.append({"input": shown[task.position], "status": r.status,
                          "frames": r.frames, "seconds": round(r.seconds, 3),
                          "fps": round(r.fps, 2), "worker": r.worker, "message": r.message,
                          "outputs": r.named, "attempts": self.attempts[task.position]})
        seconds = time.perf_counter() - self.t0
        frames = sum(f["frames"] for f in files)
        writer = AtomicTextWriter(path)
        writer.write(json.dumps({"cluster": asdict(self.options), "seconds": round(seconds, 3),
                                 "frames": frames, "fps": round(frames / seconds, 2),
                                 "files": files}, indent=2) + "\n")
        writer.commit(partial=self.interrupted)

    def print_table(self, shown: list[str]) -> None:
        width = min(48, max(len(s) for s in shown))
        lines = [f"{'input':<{width}}  {'status':<7} {'frames':>7} {'fps':>7}  worker"]
        for task in self.tasks:
            r = self.results.get(task.position, FileResult(task.position, "stopped"))
            name = shown[task.position][-width:]
            lines.append(f"{name:<{width}}  {r.status:<7} {r.frames:>7} {r.fps:>7.1f}  "
                         f"{r.worker}")
        print("\n".join(lines), file=sys.stderr)

"""Running a :class:`~visionapp.core.batch_job.BatchJob` from the command line: every input
through :func:`~visionapp.core.pipeline.process_batch`, outputs verified before they take their
names, progress bars and one-line summaries on stderr, Ctrl-C keeping what was done."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from visionapp.core.batch_job import DEMO_FRAMES_DEFAULT, BatchJob
from visionapp.core.errors import ParameterError
from visionapp.core.interrupts import Interrupts, describe

if TYPE_CHECKING:
    from visionapp.core.export import Exports
    from visionapp.core.pipeline import BatchReport
    from visionapp.core.sources import Source
    from visionapp.core.types import Frame, Result


class Outputs:
    """Everything one input writes: video, result exports, every-Nth frame images. Nothing gets
    its final name before :meth:`finish`, which verifies the video first."""

    def __init__(self, job: BatchJob, video: Path | None, frames_dir: Path | None,
                 source: Source, label: str, stem: str, exports: Exports):
        from visionapp.core.outputs import AtomicVideoWriter, StagedImages

        fps = job.fps or source.info.fps
        self.video = AtomicVideoWriter(video, fps, job.fourcc) if video else None
        self.images = StagedImages()
        self.exports = exports
        self.source = source
        self.label = label
        self.frames_dir = frames_dir
        self.every = job.every
        self.stem = stem

    def write(self, frame: Frame, results: tuple[Result, ...], annotated) -> None:
        if self.video is not None:
            self.video.write(annotated)
        file_name = self.source.file_name(frame.index) or f"{self.stem}_{frame.index:06d}"
        self.exports.write(self.label, file_name, frame, results)
        if self.frames_dir is not None and frame.index % self.every == 0:
            self.images.add(self.frames_dir / f"{self.stem}_{frame.index:06d}.png", annotated)

    def finish(self, partial: bool = False) -> list[str]:
        """Verify and name this input's files (``partial``: as ``.partial`` files); returns
        what was named, for messages."""
        named = []
        try:
            if self.video is not None and (path := self.video.commit(partial)) is not None:
                named.append(str(path))
        except BaseException:
            self.images.discard()
            raise
        images = self.images.finish(partial)
        if images:
            named.append(f"{len(images)} image(s) in {images[0].parent}"
                         + (" named *.partial.png" if partial else ""))
        return named

    def discard(self) -> None:
        if self.video is not None:
            self.video.abort()
        self.images.discard()


def say(line: str) -> None:
    print(f"visionapp: {line}", file=sys.stderr)


def remove_stale(folders: Iterable[Path]) -> None:
    """Remove what killed earlier runs left in ``folders`` (saying so)."""
    from visionapp.core.outputs import remove_stale_temporaries

    for folder in sorted(folders):
        removed = remove_stale_temporaries(folder)
        if removed:
            shown = ", ".join(removed[:3]) + (" …" if len(removed) > 3 else "")
            say(f"removed {len(removed)} temporary file(s) left in {folder} by an earlier run "
                f"that was killed: {shown}")


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def run_job(job: BatchJob, interrupts: Interrupts) -> int:
    """Run every input of ``job``; the exit status (0, 2 after a problem, 128 + signal)."""
    from visionapp.cli.solution_outputs import plan_solution_outputs
    from visionapp.core.export import Exports
    from visionapp.core.network_sources import shown_spec
    from visionapp.core.output_plan import plan_batch_outputs
    from visionapp.core.prepare import prepare_chain

    shown = [shown_spec(spec) for spec in job.inputs]
    plan = plan_batch_outputs(job.inputs, out=job.out, frames_dir=job.frames_dir,
                              force=job.force, files=job.files)
    if plan.shared:
        where = ", ".join(f"{shown[i]} → {plan.videos[i] or plan.stems[i] + '_*'}"
                          for i in sorted(plan.shared))
        say(f"{len(plan.shared)} inputs share a name, so their outputs are told apart: {where}")
    remove_stale(plan.folders())
    processors = job.processors()
    prepare_chain(processors)  # models load now: a missing one is an error before any frame
    if plan.files["txt"] and not any(getattr(p, "reads_text", False) for p in processors):
        raise ParameterError("--txt writes the text the chain reads, and no processor in it "
                             "reads text: add -p ocr")
    extras = plan_solution_outputs(plan, processors, job.inputs, job.force)
    if extras.unsaved_heatmap and not job.quiet:
        say("the final heat map is saved beside the outputs: give --out or --detections to "
            "keep it")
    exports = Exports(plan.files["detections"], plan.files["csv"], plan.files["coco"],
                      plan.files["txt"], events=extras.events)
    run = _Run(job, interrupts, processors, exports, plan.frames_dir)
    try:
        for i, (spec, stem, video) in enumerate(zip(job.inputs, plan.stems, plan.videos,
                                                    strict=True)):
            if interrupts.stop.is_set():
                return run.interrupted(None, 0, [], shown[i:])
            stopped = run.one(spec, stem, video, i in plan.shared, extras.heatmaps[i])
            if stopped is not None:
                frames, kept = stopped
                return run.interrupted(shown[i], frames, kept, shown[i + 1:])
        exports.commit()
    except BaseException:
        exports.abort()
        raise
    for line in run.problems:
        say(line)
    return 2 if any(p.startswith("error") for p in run.problems) else 0


class _Run:
    """One run of a job: what it shares across inputs and what it has done so far."""

    def __init__(self, job: BatchJob, interrupts: Interrupts, processors: tuple,
                 exports: Exports, frames_dir: Path | None):
        self.job = job
        self.interrupts = interrupts
        self.processors = processors
        self.exports = exports
        self.frames_dir = frames_dir
        self.done: list[str] = []  # outputs named complete
        self.problems: list[str] = []

    def one(self, spec: str, stem: str, video: Path | None, shares_name: bool,
            heatmaps: list) -> tuple[int, list[str]] | None:
        """Process one input; on a stop request return (frames written, outputs kept as
        partial). ``heatmaps``: (processor, PNG path) pairs saved when the input is done."""
        from visionapp.cli.solution_outputs import save_heatmaps
        from visionapp.core.network_sources import shown_spec
        from visionapp.core.pipeline import batch_decoder_threads
        from visionapp.core.sources import open_source

        job, url = self.job, spec
        spec = shown_spec(spec)  # what messages and records show: no password
        source = open_source(url, realtime=False, default_demo_frames=DEMO_FRAMES_DEFAULT,
                             folder_fps=job.fps or 1.0, camera_wh=job.camera_wh,
                             camera_fps=job.camera_fps, stream=job.stream_options(),
                             decoder_threads=batch_decoder_threads())
        with source:
            total = source.info.frame_count
            if job.max_frames:
                total = min(total or job.max_frames, job.max_frames)
            if job.duration_s and total:
                total = min(total, max(1, round(job.duration_s * source.info.fps)))
            label = spec if shares_name or spec[:4] == "demo" else source.info.name
            outputs = Outputs(job, video, self.frames_dir, source, label, stem, self.exports)
            bar = _progress(total, source.info.name, not job.quiet)
            try:
                report = self._batch(limited(source, job.max_frames, job.duration_s),
                                     outputs, bar)
                bar.close()
                if report.stopped:
                    kept = outputs.finish(partial=True) if report.frames else []
                    if not report.frames:
                        outputs.discard()
                    return report.frames, kept
                self.done += outputs.finish()
                self.done += save_heatmaps(heatmaps)
            except BaseException:
                outputs.discard()
                bar.close()
                raise
            self._report(spec, source, report)
        return None

    def _batch(self, frames: Iterable[Frame], outputs: Outputs, bar) -> BatchReport:
        from visionapp.core.pipeline import process_batch

        return process_batch(frames, self.processors, outputs.write,
                             on_frame=lambda n: bar.update(1), stop=self.interrupts.stop,
                             show_text=self.job.show_text)

    def _report(self, spec: str, source: Source, report: BatchReport) -> None:
        job, info = self.job, source.info
        expected = info.frame_count
        if (info.kind == "video" and expected and not job.max_frames
                and report.frames < expected - max(2, expected // 100)):
            self.problems.append(
                f"error: {spec} stopped decoding after {report.frames} of {expected} frames "
                "(truncated or damaged?); the output holds the frames before that point")
        if info.skipped:
            shown = ", ".join(info.skipped[:5]) + (" …" if len(info.skipped) > 5 else "")
            self.problems.append(f"skipped {len(info.skipped)} file(s) in {spec} that are not "
                                 f"readable images: {shown}")
        if job.quiet:
            return
        if info.kind == "camera":
            print(f"{spec}: camera delivered {info.detail}", file=sys.stderr)
        reconnects = getattr(source, "reconnects", 0)
        if reconnects:
            print(f"{info.name}: the stream dropped and reconnected {reconnects} time(s); the "
                  "JSON lines record each gap (gap_ms)", file=sys.stderr)
        parts = [f"{report.frames} frames in {report.seconds:.1f} s ({report.fps:.1f} fps)"]
        for proc in self.processors:
            p50, p95 = report.stats.percentiles(proc.name)
            parts.append(f"{proc.name} p50 {p50:.1f} ms / p95 {p95:.1f} ms")
        print(f"{spec}: " + "; ".join(parts), file=sys.stderr)
        from visionapp.cli.solution_outputs import summaries

        for line in summaries(self.processors):
            print(f"{spec}: {line}", file=sys.stderr)

    def interrupted(self, spec: str | None, frames: int, kept: list[str],
                    not_started: Sequence[str]) -> int:
        """Keep the shared exports as .partial files (if any frame reached them), say in one
        line what was kept, and return 128 + the signal number."""
        signum = self.interrupts.signum
        if self.done or kept:
            kept = kept + [str(path) for path in self.exports.commit(partial=True)]
        else:
            self.exports.abort()
        parts = [f"interrupted by {describe(signum)}"
                 + (f" in {spec} after {frames} frame(s)" if spec else "")]
        parts.append("kept the unfinished outputs as " + ", ".join(kept) if kept
                     else "no unfinished output was kept")
        if self.done:
            parts.append("complete: " + ", ".join(self.done))
        if not_started:
            parts.append("not started: " + ", ".join(not_started))
        if not self.done:
            parts.append("no existing file was touched")
        say("; ".join(parts))
        return 128 + signum


def limited(source: Source, max_frames: int, duration_s: float = 0.0) -> Iterator[Frame]:
    """The source's frames up to ``max_frames`` and ``duration_s`` (by frame timestamps; 0:
    no limit)."""
    for i, frame in enumerate(source):
        if max_frames and i >= max_frames:
            return
        if duration_s and not frame.still and frame.timestamp_ms >= duration_s * 1000:
            return
        yield frame

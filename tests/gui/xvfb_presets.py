"""The later steps :mod:`tests.gui.xvfb_driver` photographs: each preset loaded from the window's
Presets menu on a shared video (or image) that suits it, the NMS candidates table with a kept
box clicked and a candidate row in focus, NMS stepped through, and the CNN lab's arithmetic
inspector. Each step is a generator the driver runs inside the event loop: a number it yields
is a pause in seconds, a function a condition to wait for.

What each preset made of its media goes to ``report["presets"][stem]``: the processors that
produced a result, their first readout lines, and every "failed and was turned off" message.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

SELFIE = "videos/selfie_segmentation_web.mp4"  # one face throughout
POSE = "videos/pose_segmentation.mp4"  # a whole person moving
TRAFFIC = "videos/slow_traffic_small.mp4"  # cars on a road, 640x360
OCR_PAGE = "images/ocr/eurotext.tif"  # a scanned page of printed text
CNN_FRAME = "images/butterfly.jpg"

MEDIA = {  # preset file stem → the shared file it runs on
    "objects": TRAFFIC, "traffic_counter": TRAFFIC, "text_reader": OCR_PAGE,
    "body_pose": POSE, "exercise_counter": POSE, "hands": POSE, "gesture_control": POSE,
}  # every other preset: SELFIE
FEW = ("objects", "face_mesh", "text_reader")  # the presets shot at the larger screen too


def media_for(stem: str) -> str:
    return MEDIA.get(stem, SELFIE)


def current(window, packet) -> bool:
    """``packet`` was made by the chain as it is now, every enabled processor loaded."""
    return (packet is not None and not window.chain._debounce.isActive()
            and packet.chain_version == window.live.chain_version and not packet.loading)


def preset_action(window, stem: str):
    """The Presets menu entry that loads ``resources/presets/<stem>.toml``."""
    from visionapp.gui.start_panel import presets

    title = next(p.title for p in presets() if p.path.stem == stem)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Presets")
    return next(a for a in menu.actions()
                if a.text() == title or a.text().startswith(f"{title} — "))


def run_preset(ctx: SimpleNamespace, stem: str):
    """Open the preset's media, pick the preset from the menu, wait for a frame it processed."""
    window, data = ctx.window, ctx.data
    media = data / media_for(stem)
    failures: list[str] = ctx.failures
    failures.clear()
    window.open_source(str(media))
    preset_action(window, stem).trigger()
    enabled = sum(slot.enabled for slot in window.chain.slots)

    def processed():
        """a frame of the preset's chain on its media"""
        packet = window.packet
        return bool(failures) or (current(window, packet) and packet.source.name == media.name
                                  and len(packet.results) == enabled)

    yield processed
    yield 0.8  # a few more frames: trackers, counters and smoothing settle
    packet = window.packet
    ctx.report["presets"][stem] = {
        "media": media.name, "enabled": enabled,
        "slots": [slot.processor.name for slot in window.chain.slots],
        "results": [r.processor for r in packet.results] if current(window, packet) else [],
        "text": [line for r in packet.results for line in r.text][:8],
        "failed": list(failures),
    }
    ctx.report["clipped"] += ctx.clipped(window)
    ctx.shoot(f"preset_{stem}")


def presets_step(ctx: SimpleNamespace, stems: list[str]):
    from visionapp.core import playback

    ctx.failures = []
    ctx.window.live.on(playback.ProcessorOff, lambda event: ctx.failures.append(event.message))
    for stem in stems:
        yield from run_preset(ctx, stem)


def nms_step(ctx: SimpleNamespace):
    """yolo.detect with its candidates on the traffic video, paused; a kept box clicked, a row
    it removed focused; then "Next candidate →" three times."""
    window = ctx.window
    media = ctx.data / TRAFFIC
    window.open_source(str(media))
    preset_action(window, "objects").trigger()  # yolo.detect, show_candidates on

    def boxes():
        """yolo.detect's candidates table on a traffic frame with two kept boxes or more"""
        packet = window.packet
        return (current(window, packet) and packet.source.name == media.name
                and packet.results[0].nms is not None and len(packet.results[0].detections) > 1
                and packet.position >= 10)

    yield boxes
    window.set_paused(True)
    yield 0.5
    table = window.packet.results[0].nms
    kept = int(table.row_of_number(1))
    x0, y0, x1, y1 = table.candidates.xyxy[kept]
    window.gestures.on_click(int((x0 + x1) / 2), int((y0 + y1) / 2))

    def selected():
        """the clicked box explained in the next frame's table"""
        packet = window.packet
        return current(window, packet) and packet.results[0].nms.selected == 1

    yield selected
    table = window.packet.results[0].nms
    removed = [i for i in range(len(table)) if int(table.removed_by[i]) == kept]
    focus = removed[0] if removed else kept
    window.nms_view.table.cellClicked.emit(focus, 0)  # as a click on the row

    def focused():
        """the clicked candidate row in focus"""
        packet = window.packet
        return current(window, packet) and packet.results[0].nms.focus == focus

    yield focused
    yield 0.4
    ctx.report["nms"] = {"kept_row": kept, "focus_row": focus, "rows": len(table),
                         "selected_table_row": _selected_row(window)}
    ctx.shoot("nms_table_selected")
    for _ in range(3):
        window.nms_view.next_button.click()
        yield 0.3

    def stepped():
        """three NMS decisions replayed"""
        packet = window.packet
        return current(window, packet) and packet.results[0].nms.decided == 3

    yield stepped
    yield 0.3
    ctx.report["nms"]["decided"] = int(window.packet.results[0].nms.decided)
    ctx.shoot("nms_step_through")
    window.set_paused(False)


def _selected_row(window) -> int:
    from visionapp.gui.nms_table import selected_row

    return selected_row(window.nms_view)


def cnn_lab_step(ctx: SimpleNamespace):
    """conv.kernel on a photo; a click on its map opens the arithmetic inspector."""
    from visionapp.core import registry

    window = ctx.window
    media = ctx.data / CNN_FRAME
    window.open_source(str(media))
    window.chain.set_processors([(registry.create("conv.kernel"), True)])

    def convolved():
        """conv.kernel's map of the photo"""
        packet = window.packet
        return (current(window, packet) and packet.source.name == media.name
                and len(packet.results) == 1)

    yield convolved
    h, w = window.packet.frame.image.shape[:2]
    window.gestures.on_click(w // 2, h // 2)

    def inspecting():
        """the arithmetic inspector open"""
        return window.inspector.isVisible()

    yield inspecting
    yield 0.6
    ctx.report["dialogs"]["inspector"] = ctx.frame_of(window.inspector)
    ctx.report["clipped"] += ctx.clipped(window)
    ctx.shoot("cnn_lab_inspector")
    window.inspector.close()


def shot_names(stems: list[str]) -> list[str]:
    """The shots these steps take, in order."""
    return [f"preset_{s}" for s in stems] + ["nms_table_selected", "nms_step_through",
                                             "cnn_lab_inspector"]


def all_stems(repo: Path) -> list[str]:
    return sorted(p.stem for p in (repo / "resources" / "presets").glob("*.toml"))

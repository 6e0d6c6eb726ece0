"""The Help menu: the keyboard shortcuts, the snapshot and recording folders, and About.

About names the versions that matter when reporting a problem, the machine, and the folders
searched for model files, in order — read from package metadata, so opening it never imports a
framework.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from collections.abc import Sequence

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from visionapp import __version__, paths
from visionapp.gui.capture import output_dir

PACKAGES = ("opencv-python", "opencv-contrib-python", "opencv-python-headless", "numpy",
            "mediapipe", "ultralytics", "torch", "openvino", "tensorflow", "keras")


def shortcuts_html(keys: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><td><b>{key}</b></td><td>&nbsp;&nbsp;{what}</td></tr>"
                   for key, what in keys)
    return ("<p>Single keys work while the video has the keyboard focus (click it once):</p>"
            f"<table>{rows}</table>")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next((line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name")), platform.machine())
    except OSError:
        return platform.processor() or platform.machine()


def _device() -> str:
    gpu = "no CUDA GPU seen"
    if "torch" in sys.modules:  # never imported here just to ask
        torch = sys.modules["torch"]
        if torch.cuda.is_available():
            gpu = f"CUDA: {torch.cuda.get_device_name(0)}"
    elif os.path.exists("/proc/driver/nvidia/version"):
        gpu = "NVIDIA driver present (CUDA used by YOLO when torch sees it)"
    return f"{_cpu()}, {os.cpu_count()} logical CPUs; {gpu}"


def about_html() -> str:
    versions = [f"visionapp {__version__}", f"Python {platform.python_version()}",
                f"PySide6 {pyside_version}"]
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    folders = "".join(f"<li>{folder} <i>({what})</i></li>"
                      for folder, what in paths.model_search_dirs())
    return (f"<h3>visionapp {__version__}</h3><p>Real-time computer vision, step by step.</p>"
            f"<p><b>Versions:</b> {', '.join(versions)}</p>"
            f"<p><b>Device:</b> {_device()}; {platform.platform(terse=True)}</p>"
            f"<p><b>Model files are searched in, in order:</b></p><ol>{folders}</ol>"
            f"<p><b>Snapshots:</b> {output_dir('snapshots')}<br>"
            f"<b>Recordings:</b> {output_dir('recordings')}</p>")


def show_shortcuts(parent: QWidget, keys: Sequence[tuple[str, str]]) -> None:
    QMessageBox.information(parent, "Keyboard shortcuts", shortcuts_html(keys))


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About visionapp", about_html())


def open_folder(kind: str) -> bool:
    """Open the ``snapshots`` or ``recordings`` folder in the desktop's file manager."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(output_dir(kind))))

"""Every filesystem location visionapp uses, built in one place.

Nothing here depends on the current working directory: project paths are anchored on this file,
user paths on XDG variables (with the usual defaults).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
PROJECT_MODELS_DIR = PROJECT_ROOT / "models"
RESOURCES_DIR = PROJECT_ROOT / "resources"

MODELS_DIR_ENV = "VISIONAPP_MODELS_DIR"
CACHE_DIR_ENV = "VISIONAPP_CACHE_DIR"
CONFIG_DIR_ENV = "VISIONAPP_CONFIG_DIR"

# Where Linux distributions put OpenCV's cascade XMLs (Debian/Ubuntu: package opencv-data).
SYSTEM_HAAR_DIRS = (
    Path("/usr/share/opencv4/haarcascades"),
    Path("/usr/share/opencv/haarcascades"),
    Path("/usr/local/share/opencv4/haarcascades"),
)


def env_models_dir() -> Path | None:
    """The folder named by VISIONAPP_MODELS_DIR, if set."""
    value = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def user_cache_dir() -> Path:
    """Per-user cache root (downloads, accelerated model exports, GUI templates)."""
    value = os.environ.get(CACHE_DIR_ENV, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "visionapp"


def user_models_dir() -> Path:
    return user_cache_dir() / "models"


def user_config_dir() -> Path:
    value = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base).expanduser().resolve() / "visionapp"


def user_data_dir() -> Path:
    """Snapshots and recordings (XDG data home, e.g. ~/.local/share/visionapp)."""
    value = os.environ.get("VISIONAPP_DATA_DIR", "").strip()
    if value:
        return Path(value).expanduser().resolve()
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().resolve() / "visionapp"


def templates_dir() -> Path:
    """Where templates cut from the live view are saved as PNG files."""
    return user_cache_dir() / "templates"

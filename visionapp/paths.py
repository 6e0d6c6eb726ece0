"""Every filesystem location visionapp uses, built in one place.

Nothing here depends on the current working directory: project paths are anchored on this file,
user paths on XDG variables (with the usual defaults).

Trained models go to the checkout's ``models/`` when visionapp runs from a source checkout (a
``pyproject.toml`` beside the package, outside any site-packages), and to the user's data folder
(``$XDG_DATA_HOME/visionapp/models``, by default ``~/.local/share/visionapp/models``) when it is
installed as a package, whose own folder a normal user cannot (and should not) write to.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
PROJECT_MODELS_DIR = PROJECT_ROOT / "models"
RESOURCES_DIR = PROJECT_ROOT / "resources"
PRESETS_DIR = RESOURCES_DIR / "presets"  # ready-made chain files ("Inside the CNN")

MODELS_DIR_ENV = "VISIONAPP_MODELS_DIR"
CACHE_DIR_ENV = "VISIONAPP_CACHE_DIR"
CONFIG_DIR_ENV = "VISIONAPP_CONFIG_DIR"
DATA_DIR_ENV = "VISIONAPP_DATA_DIR"
_INSTALL_DIR_NAMES = frozenset({"site-packages", "dist-packages"})

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
    """Downloaded models (``visionapp models fetch``) live here."""
    return user_cache_dir() / "models"


def openvino_cache_dir() -> Path:
    """OpenVINO's compiled-model cache (its ``CACHE_DIR``): blobs keyed by OpenVINO itself on the
    network, device and settings, so a later load of the same export skips compiling."""
    return user_cache_dir() / "exports" / "openvino-compiled"


def user_config_dir() -> Path:
    value = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base).expanduser().resolve() / "visionapp"


def user_data_dir() -> Path:
    """Snapshots and recordings (XDG data home, e.g. ~/.local/share/visionapp)."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().resolve() / "visionapp"


def templates_dir() -> Path:
    """Where templates cut from the live view are saved as PNG files."""
    return user_cache_dir() / "templates"


def is_source_checkout() -> bool:
    """True when visionapp runs from a source checkout (editable installs included): a
    pyproject.toml beside the package, and the package not inside a site-packages folder."""
    if _INSTALL_DIR_NAMES.intersection(PACKAGE_DIR.parts):
        return False
    return (PROJECT_ROOT / "pyproject.toml").is_file()


def user_trained_models_dir() -> Path:
    """Trained models of an installed visionapp: the user's data folder."""
    return user_data_dir() / "models"


def trained_models_dir() -> Path:
    """Where training saves models: the checkout's models/, or the user's data folder."""
    return PROJECT_MODELS_DIR if is_source_checkout() else user_trained_models_dir()


def trained_model_file(name: str, suffix: str) -> Path:
    """``<trained models dir>/<name><suffix>``; ``name`` must already be a plain file name."""
    return trained_models_dir() / f"{name}{suffix}"


def model_search_dirs() -> list[tuple[Path, str]]:
    """Folders searched for a model given by bare file name, in order, each with what it is.

    An explicit path comes before all of them, a download from the official URL after.
    """
    dirs: list[tuple[Path, str]] = []
    if is_source_checkout():
        dirs.append((PROJECT_MODELS_DIR, "this checkout's models/ folder"))
    dirs.append((user_trained_models_dir(), "the user's data folder"))
    env_dir = env_models_dir()
    if env_dir is not None:
        dirs.append((env_dir, f"${MODELS_DIR_ENV}"))
    dirs.append((user_models_dir(), "downloads, in the user cache"))
    return dirs


def training_runs_dir() -> Path:
    """Work folders of training runs: checkpoints, the child process's log."""
    return user_cache_dir() / "runs"


# Chains for common projects (text reader, exercise counter, gesture control, portrait), saved as
# ordinary chain files: `visionapp process INPUT --chain resources/presets/NAME.toml`.
PRESETS_DIR = RESOURCES_DIR / "presets"

# TrueType fonts a Debian/Ubuntu system has (fonts-dejavu-core, pulled in by fontconfig); RapidOCR
# is pointed at one so it never downloads a font of its own.
SYSTEM_FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/freefont/FreeSans.ttf"),
)


def preset_files() -> list[Path]:
    """The preset chain files, by name."""
    return sorted(PRESETS_DIR.glob("*.toml")) if PRESETS_DIR.is_dir() else []


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or ``stem_1``, ``stem_2``, … : a name that does not exist yet, so
    nothing the user made is overwritten (snapshots, recordings, templates cut from the view)."""
    path = folder / f"{stem}{suffix}"
    n = 1
    while path.exists():
        path = folder / f"{stem}_{n}{suffix}"
        n += 1
    return path

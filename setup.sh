#!/usr/bin/env bash
# Sets visionapp up in ./.venv: Debian/Ubuntu packages Qt and the tests need (when run as root or
# with password-less sudo), then the Python packages with every extra. Safe to run again: it only
# reinstalls when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup.sh: visionapp needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 2
fi

# --- OS packages: a virtual X server for the window test, Qt's xcb plugin libraries, PulseAudio
# client (Qt multimedia), OpenCV's Haar cascades as a fallback to the wheel's copy, Tesseract OCR
# with English (and its orientation model), and DejaVu fonts (OCR test pages, RapidOCR's font).
OS_PACKAGES=(xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
             libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxkbcommon-x11-0
             libegl1 libgl1 libfontconfig1 libdbus-1-3 libpulse0 opencv-data
             tesseract-ocr tesseract-ocr-eng fonts-dejavu-core)
if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
    missing=()
    for pkg in "${OS_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
        if $SUDO true 2>/dev/null; then
            echo "setup.sh: installing OS packages: ${missing[*]}"
            $SUDO apt-get update -qq >/dev/null || true
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" >/dev/null || echo "setup.sh: some OS packages failed to install" >&2
        else
            echo "setup.sh: please install: sudo apt-get install ${missing[*]}" >&2
        fi
    fi
fi

# --- Python environment.
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.visionapp-setup
want=$(cat pyproject.toml setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[all,dev]"
    # MediaPipe needs opencv-contrib-python, Ultralytics opencv-python, RapidOCR
    # opencv-python-headless; all are pinned to the same release and all write cv2/. Reinstalling
    # contrib last leaves its (superset) build in place.
    contrib=$(.venv/bin/python -m pip show opencv-contrib-python | awk '/^Version:/{print $2}')
    .venv/bin/python -m pip install -q --no-deps --force-reinstall "opencv-contrib-python==$contrib"
    .venv/bin/python -m pip check
    .venv/bin/python -c 'import cv2; cv2.ximgproc; assert cv2.data.haarcascades' \
        || { echo "setup.sh: cv2 is not the contrib build with cascades" >&2; exit 1; }
    echo "$want" > "$stamp"
fi

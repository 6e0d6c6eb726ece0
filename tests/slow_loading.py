"""A stand-in for a network that takes seconds to load: the first call for each setting of a
processor sleeps ``load_s``, later ones return at once (as a loaded model would)."""

from __future__ import annotations

import threading
import time
from typing import ClassVar

_LOCK = threading.Lock()
_LOADED: dict = {}  # processor value → loaded


def forget_loads() -> None:
    _LOADED.clear()


class SlowFirstCall:
    load_s: ClassVar[float] = 1.0

    def load(self) -> None:
        """The first call for each setting takes ``load_s``, like loading a network would."""
        with _LOCK:
            if _LOADED.setdefault(self, False):
                return
            time.sleep(self.load_s)
            _LOADED[self] = True

"""Calls into native code that may never return (a camera driver, a corrupt model file)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def call_with_timeout(fn: Callable[[], T], timeout_s: float, name: str) -> T:
    """``fn()`` on a daemon helper thread named ``name``: its result, or its exception
    re-raised here; TimeoutError when it has not returned within ``timeout_s``.

    A call that times out is left running (native code cannot be interrupted); the caller gets
    an error instead of a hang.
    """
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            box["error"] = exc

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"{name} did not finish within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]

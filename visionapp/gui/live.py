"""The live worker: the Qt-free PlaybackSession on a ThreadWorker, its events dispatched by type.

The window speaks to it only in the session's typed commands (``live.send(Pause())``) and listens
with ``live.on(Packet, callback)``: a flat table from event type to callbacks, called on the GUI
thread. Packets are latest-wins (a slow display skips frames, never builds a backlog); every
other event is delivered. A chain edit goes out as ``SetChain`` with a new version number, which
comes back on each Packet processed with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject

from visionapp.core.playback import PlaybackSession
from visionapp.core.playback_messages import ChainSlot, Command, Packet, SetChain
from visionapp.gui.bridge import ThreadWorker

STOP_TIMEOUT_S = 5.0


class LiveWorker(QObject):
    def __init__(self, parent: QObject | None = None, session: PlaybackSession | None = None):
        super().__init__(parent)
        self.session = session or PlaybackSession()
        self.worker = ThreadWorker("processing", latest=(Packet,), parent=self)
        self.chain_version = 0  # of the last chain sent
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self.worker.yielded.connect(self._dispatch)
        self.worker.start(self.session.run(wait=self.worker.wait_for_input))

    def on(self, event_type: type, callback: Callable[[Any], None]) -> None:
        """Call ``callback(event)`` for every event of ``event_type`` (on the GUI thread)."""
        self._handlers[event_type].append(callback)

    def send(self, command: Command) -> None:
        self.worker.send(command)

    def set_chain(self, slots: Iterable[ChainSlot]) -> int:
        """Send the chain as it is now; returns its version."""
        self.chain_version += 1
        self.send(SetChain(tuple(slots), self.chain_version))
        return self.chain_version

    def is_alive(self) -> bool:
        """Whether the processing thread still runs (it ends only after ``stop()``)."""
        return self.worker.is_running

    def stop(self) -> None:
        """End playback: a recording is finished, the source closed (waits up to 5 s)."""
        self.worker.quit()
        self.worker.join(STOP_TIMEOUT_S)

    def _dispatch(self, event: Any) -> None:
        for callback in self._handlers.get(type(event), ()):
            callback(event)

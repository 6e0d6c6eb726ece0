"""The one thread bridge: a generator on its own thread, its values back on the GUI thread."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QObject, QThread  # noqa: E402

from visionapp.core.errors import BadInput  # noqa: E402
from visionapp.gui.bridge import ThreadWorker, errors, run_function  # noqa: E402

TIMEOUT_MS = 10_000


class Frameish:
    """Stands for a Packet: a latest-wins value."""

    def __init__(self, n: int):
        self.n = n


def record(worker: ThreadWorker) -> list:
    """Every signal the worker emits, in order, as (name, value)."""
    seen: list = []
    worker.yielded.connect(lambda v: seen.append(("yielded", v)))
    worker.returned.connect(lambda v: seen.append(("returned", v)))
    worker.errored.connect(lambda e: seen.append(("errored", e)))
    worker.finished.connect(lambda: seen.append(("finished", None)))
    return seen


def test_every_sent_value_arrives_in_order_and_the_return_value_comes_back(qtbot):
    def echo():
        got = []
        while len(got) < 50:
            value = yield None  # idle until something is sent
            if value is not None:
                got.append(value)
        return got

    worker = ThreadWorker("echo")
    seen = record(worker)
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
        worker.start(echo())
        for i in range(50):  # faster than the generator reads them: none may be lost
            worker.send(i)
    assert seen == [("returned", list(range(50))), ("finished", None)]


def test_values_arrive_on_the_gui_thread_in_order_and_finished_is_last(qtbot):
    threads = []

    def count():
        yield from range(20)
        return "done"

    worker = ThreadWorker("count")
    seen = record(worker)
    worker.yielded.connect(lambda _v: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
        worker.start(count())
    assert seen == [("yielded", i) for i in range(20)] + [("returned", "done"),
                                                          ("finished", None)]
    assert set(threads) == {QThread.currentThread()}  # the test runs on the GUI thread


def test_latest_values_replace_each_other_while_the_gui_is_busy(qtbot):
    produced = threading.Event()

    def frames():
        for i in range(500):
            yield Frameish(i)
            if i == 250:
                yield "an event in between"
        produced.set()

    worker = ThreadWorker("frames", latest=(Frameish,))
    seen = record(worker)
    worker.start(frames())
    assert produced.wait(10)  # the GUI thread took nothing meanwhile: no event loop ran
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
        pass
    frames_shown = [v.n for k, v in seen if k == "yielded" and isinstance(v, Frameish)]
    assert frames_shown[-1] == 499  # the newest is shown
    assert len(frames_shown) <= 2  # no backlog: one stale frame at most, behind the event
    assert ("yielded", "an event in between") in seen  # other values are never dropped


def test_an_error_goes_to_the_one_handler_and_finished_follows(qtbot):
    messages = []
    errors().message.connect(messages.append)

    def broken():
        yield 1
        raise BadInput("the file is damaged; choose another")

    worker = ThreadWorker("broken")
    seen = record(worker)
    try:
        with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
            worker.start(broken())
    finally:
        errors().message.disconnect(messages.append)
    assert [k for k, _ in seen] == ["yielded", "errored", "finished"]
    assert isinstance(seen[1][1], BadInput)
    assert messages == ["the file is damaged; choose another"]


def test_quit_closes_the_generator_at_its_next_yield(qtbot):
    cleaned = threading.Event()

    def endless():
        try:
            while True:
                yield None
        finally:
            cleaned.set()

    worker = ThreadWorker("endless")
    seen = record(worker)
    worker.start(endless())
    assert worker.is_running
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
        worker.quit()
    assert cleaned.is_set() and worker.join(1.0) and not worker.is_running
    assert seen == [("finished", None)]  # no return value after a quit


def test_an_idle_generator_waits_for_input_instead_of_spinning(qtbot):
    passes = []

    def idle():
        while True:
            value = yield None
            passes.append(time.perf_counter())
            if value == "stop":
                return len(passes)

    worker = ThreadWorker("idle", idle_wait_s=0.05)
    with qtbot.waitSignal(worker.returned, timeout=TIMEOUT_MS) as blocker:
        worker.start(idle())
        qtbot.wait(500)
        t_sent = time.perf_counter()
        worker.send("stop")
    assert blocker.args[0] <= 0.5 / 0.05 + 3  # about one pass per idle wait, not thousands
    assert passes[-1] - t_sent < 0.05  # a sent value ends the wait at once


def test_wait_for_input_returns_early_when_a_value_is_sent(qtbot):
    waited = []

    def sleeper(worker):
        t0 = time.perf_counter()
        woke = worker.wait_for_input(5.0)
        waited.append((woke, time.perf_counter() - t0))
        yield None

    worker = ThreadWorker("sleeper")
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
        worker.start(sleeper(worker))
        time.sleep(0.1)
        worker.send("wake up")
    ((woke, seconds),) = waited
    assert woke and seconds < 2.0


def test_run_function_hands_the_value_to_the_gui_thread(qtbot):
    parent = QObject()
    got = []
    worker = run_function(parent, "sum", lambda: (threading.current_thread().name, 2 + 3),
                          lambda value: got.append((QThread.currentThread(), value)))
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
        pass
    ((thread, (ran_on, total)),) = got
    assert total == 5 and ran_on == "sum" and thread == QThread.currentThread()

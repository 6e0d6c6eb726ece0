"""The NMS candidates table beside the view: every candidate of the newest frame (score, class,
kept as #N or removed by #N, the IoU that decided it), kept in step with the view both ways.

A click on a row puts that candidate in focus on the view (the processor's ``candidate`` and
``explain`` parameters, applied as if typed in its panel); a click on a box in the view selects
the kept box, and the next frame's table selects its row. "Next candidate →" replays greedy NMS
one decision at a time (the ``step`` parameter); "All" shows every decision again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from visionapp.core.playback_messages import Packet
from visionapp.core.types import NmsTable
from visionapp.gui.chain_panel import ChainPanel

COLUMNS = ("#", "score", "class", "decision", "IoU")
TRACKING_NOTE = ("NMS view off: the tracker runs its own NMS. Set tracker to none to see the "
                 "candidates.")
MAX_ROWS = 500  # a frame with more candidates lists its best-scoring 500


class NmsTableView(QWidget):
    """The table and its replay buttons; knows nothing of processors (see :class:`NmsSync`)."""

    row_clicked = Signal(int)  # a candidate row (0-based, best score first)
    step_requested = Signal()
    show_all_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>NMS candidates</b> (click a row, or a box in the view)"))
        self.note = QLabel("")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The decision ("removed by #12") takes the width that is left, cut with "…" rather
        # than a horizontal scrollbar in a narrow side panel; its tooltip has the whole text.
        header.setSectionResizeMode(COLUMNS.index("decision"), QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(24)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setToolTip("every candidate, best score first; IoU: with the box that "
                              "removed it, or for a kept box the largest with a box kept "
                              "before it")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.cellClicked.connect(lambda row, _col: self.row_clicked.emit(row))
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.next_button = QPushButton("Next candidate →")
        self.next_button.setToolTip("replay greedy NMS one decision at a time")
        self.next_button.clicked.connect(self.step_requested)
        self.all_button = QPushButton("All")
        self.all_button.setToolTip("show every decision again")
        self.all_button.clicked.connect(self.show_all_requested)
        buttons.addWidget(self.next_button, 1)
        buttons.addWidget(self.all_button)
        layout.addLayout(buttons)
        self.shown: NmsTable | None = None
        self.hide()  # until a frame carries an NMS table

    def show_table(self, table: NmsTable | None, note: str = "") -> None:
        """Fill the rows from ``table`` (None: empty, with ``note`` saying why)."""
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.setEnabled(table is not None or not note)
        self.next_button.setEnabled(table is not None)
        self.all_button.setEnabled(table is not None)
        if table is self.shown:
            return
        self.shown = table
        rows = [] if table is None else table.rows()[:MAX_ROWS]
        self.table.setUpdatesEnabled(False)
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        grey = QBrush(QColor(150, 150, 150))
        for i, row in enumerate(rows):
            decision = {"kept": f"kept #{row['kept_number']}",
                        "removed": f"removed by #{row['removed_by']}"}.get(row["status"],
                                                                          row["status"])
            iou = f"{row['iou']:.2f}"
            if not row["decided"]:  # the replay has not reached it: no spoilers
                decision, iou = "not yet", ""
            cells = (str(row["row"] + 1), f"{row['score']:.2f}", row["class"], decision, iou)
            for col, text in enumerate(cells):
                item = self.table.item(i, col)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(i, col, item)
                item.setText(text)
                if col in (2, 3):  # may be cut with "…" in a narrow panel
                    item.setToolTip(text)
                item.setForeground(QBrush() if row["decided"] else grey)
                if col == 3 and row["status"] == "kept" and row["decided"]:
                    item.setForeground(QBrush(QColor(20, 130, 40)))
        self.table.blockSignals(False)
        self.table.setUpdatesEnabled(True)
        if table is not None:
            current = table.focus if table.focus >= 0 else table.row_of_number(table.selected)
            if 0 <= current < self.table.rowCount():
                self.table.selectRow(current)
                self.table.scrollToItem(self.table.item(current, 0))
            else:
                self.table.clearSelection()


class NmsSync:
    """Keeps an :class:`NmsTableView` and the chain in step: the table shows the first NMS
    table in each frame's results; its clicks and buttons become parameter changes of the
    processor that made the table."""

    def __init__(self, view: NmsTableView, chain: ChainPanel):
        self.view = view
        self._chain = chain
        self._row = -1  # the chain row whose table is shown
        self.table: NmsTable | None = None
        view.row_clicked.connect(self.focus_row)
        view.step_requested.connect(self.next_step)
        view.show_all_requested.connect(self.show_all)

    def show_packet(self, packet: Packet) -> None:
        keys = [slot.key for slot in self._chain.slots]
        self.table, self._row, note = None, -1, ""
        for key, result in zip(packet.keys, packet.results, strict=True):
            if result.nms is not None and key in keys:
                self.table, self._row = result.nms, keys.index(key)
                break
        else:
            for slot in self._chain.slots:
                p = slot.processor
                if (slot.enabled and getattr(p, "show_candidates", False)
                        and getattr(p, "tracker", "none") != "none"):
                    note = TRACKING_NOTE
        self.view.show_table(self.table, note)
        self.view.setVisible(self.table is not None or bool(note))

    def _apply(self, changes: dict) -> None:
        if 0 <= self._row < len(self._chain.slots):
            self._chain.apply(self._row, changes)

    def focus_row(self, row: int) -> None:
        """A table row clicked: that candidate in focus, its kept box (or the one that removed
        it) selected."""
        table = self.table
        if table is None or not 0 <= row < len(table):
            return
        by = int(table.removed_by[row])
        number = int(table.kept_number[by if by >= 0 else row])
        changes = {"candidate": row + 1, "step": 0}
        if number:
            changes["explain"] = number
        self._apply(changes)

    def next_step(self) -> None:
        """Replay one more decision (starting at the first)."""
        if self.table is None:
            return
        slot = self._chain.slots[self._row]
        step = int(getattr(slot.processor, "step", 0))
        self._apply({"step": min(step + 1, len(self.table)), "candidate": 0})

    def show_all(self) -> None:
        self._apply({"step": 0, "candidate": 0})


def selected_row(view: NmsTableView) -> int:
    """The selected table row (-1: none)."""
    rows = view.table.selectionModel().selectedRows()
    return rows[0].row() if rows else -1


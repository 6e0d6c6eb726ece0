"""Training curves: losses on one plot, scores (accuracy, mAP) on another, one point per epoch.

Two plots with their own y-axes, because a loss of 2.3 and an accuracy of 0.6 share no useful
scale; their x-axes are linked and ticked at whole epochs, and span the whole run from the first
epoch, so the curves also show how far along it is. Drawn with pyqtgraph (made for Qt: zoom,
pan and export come with it), in the window's own colours.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QVBoxLayout, QWidget

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777")
MAX_TICKS = 12  # epoch labels on the x-axis; more epochs are labelled every k-th


def is_loss(name: str) -> bool:
    return "loss" in name.lower()


def short_name(name: str) -> str:
    """"metrics/mAP50(B)" → "mAP50(B)", "val_loss" stays."""
    return name.split("/")[-1]


def epoch_ticks(epochs: int) -> list[tuple[int, str]]:
    step = max(1, math.ceil(epochs / MAX_TICKS))
    shown = list(range(1, epochs + 1, step))
    if shown[-1] != epochs:  # the last epoch is always labelled, never crowding its neighbour
        if epochs - shown[-1] < step and len(shown) > 1:
            shown[-1] = epochs
        else:
            shown.append(epochs)
    return [(e, str(e)) for e in shown]


class Curves(QWidget):
    """``series`` holds every metric's values by name; ``epochs`` the epoch of each point.
    ``score_title`` labels the second plot's axis ("accuracy", "mAP")."""

    def __init__(self, score_title: str = "score", parent: QWidget | None = None):
        super().__init__(parent)
        self.series: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.total_epochs = 0
        self._lines: dict[str, pg.PlotDataItem] = {}
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        ink = palette.color(QPalette.ColorRole.Text)
        self.loss_plot = pg.PlotWidget(background=background)
        self.score_plot = pg.PlotWidget(background=background)
        for plot, title in ((self.loss_plot, "loss"), (self.score_plot, score_title)):
            item = plot.getPlotItem()
            item.showGrid(x=True, y=True, alpha=0.25)
            item.addLegend(offset=(-8, 8), labelTextColor=ink, brush=background)
            for side in ("left", "bottom"):
                axis = item.getAxis(side)
                axis.setPen(ink)
                axis.setTextPen(ink)
            item.setLabel("left", title, color=ink.name())
            item.setLabel("bottom", "epoch", color=ink.name())
            item.setMouseEnabled(x=False, y=True)
            plot.setMinimumHeight(140)
        self.score_plot.setXLink(self.loss_plot)
        self.score_plot.setYRange(0, 1, padding=0.02)
        self.placeholder = pg.TextItem("curves appear after the first epoch", color=ink,
                                       anchor=(0.5, 0.5))
        self.loss_plot.addItem(self.placeholder)
        self.placeholder.setPos(0.5, 0.5)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.score_plot, 1)

    def clear(self) -> None:
        self.series.clear()
        self.epochs.clear()
        self.total_epochs = 0
        for plot in (self.loss_plot, self.score_plot):
            item = plot.getPlotItem()
            item.legend.clear()
            for line in item.listDataItems():
                item.removeItem(line)
        self._lines.clear()
        if self.placeholder.scene() is None:
            self.loss_plot.addItem(self.placeholder)

    def add(self, epoch: int, epochs: int, metrics: dict[str, float]) -> None:
        """One epoch's values (``epoch`` 1-based, of ``epochs``)."""
        if self.placeholder.scene() is not None:
            self.loss_plot.removeItem(self.placeholder)
        self.epochs.append(epoch)
        self.total_epochs = max(self.total_epochs, epochs, epoch)
        for name, value in metrics.items():
            values = self.series.setdefault(name, [])
            values.append(float(value))
            line = self._lines.get(name)
            if line is None:
                color = PALETTE[len(self._lines) % len(PALETTE)]
                plot = self.loss_plot if is_loss(name) else self.score_plot
                line = plot.plot(pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6,
                                 symbolBrush=color, symbolPen=color, name=short_name(name))
                self._lines[name] = line
            line.setData(self.epochs[-len(values):], values)
        self._ticks()

    def _ticks(self) -> None:
        ticks = [epoch_ticks(self.total_epochs)]
        for plot in (self.loss_plot, self.score_plot):
            plot.getPlotItem().getAxis("bottom").setTicks(ticks)
        self.loss_plot.setXRange(0.5, self.total_epochs + 0.5, padding=0)
        scores = [v for name, s in self.series.items() if not is_loss(name) for v in s]
        if scores:  # scores live in 0..1; widen only if one is not
            self.score_plot.setYRange(min(0.0, *scores), max(1.0, *scores), padding=0.02)

    def axis_of(self, name: str) -> str:
        """Which plot a series is on: "loss" or "score"."""
        return "loss" if is_loss(name) else "score"

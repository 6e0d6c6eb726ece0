"""A processor's settings panel, generated from its dataclass fields.

int/float with a range → slider + spin box; choices → combo box; bool → check box; a "path"
string → line edit + file picker. ``changed`` carries (field name, value) after every edit; the
window debounces before sending a new processor to the worker.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from visionapp.core.params import ParamSpec, specs
from visionapp.gui.cnn_editors import KernelEditor, LayerPicker

SLIDER_STEPS = 1000


class ParamPanel(QWidget):
    changed = Signal(str, object)
    changed_together = Signal(dict)  # several fields at once (name → value), applied as one

    def __init__(self, processor: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.processor_name = processor.name
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        doc = inspect.cleandoc(type(processor).__doc__ or "").replace("``", "")
        if doc:
            about = QLabel(doc)
            about.setWordWrap(True)
            about.setStyleSheet("color: palette(mid);")
            layout.addRow(about)
        for spec in specs(type(processor)):
            if spec.kind == "kernel":
                editor: QWidget = KernelEditor(getattr(processor, spec.name),
                                               getattr(processor, "preset", None),
                                               self._emit_together)
            elif spec.kind == "layer":
                editor = LayerPicker(getattr(processor, spec.name),
                                     getattr(processor, "layer_choices", None),
                                     functools.partial(self._emit, spec.name))
            else:
                editor = self._editor(spec, getattr(processor, spec.name))
            editor.setToolTip(spec.help or spec.name)
            self.editors[spec.name] = editor
            layout.addRow(spec.name.replace("_", " "), editor)

    def _emit(self, name: str, value: Any) -> None:
        self.changed.emit(name, value)

    def _emit_together(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():  # the other editors show the new values
            box = self.editors.get(name)
            if isinstance(box, QComboBox) and box.findData(value) >= 0:
                box.blockSignals(True)
                box.setCurrentIndex(box.findData(value))
                box.blockSignals(False)
        self.changed_together.emit(changes)

    def _editor(self, spec: ParamSpec, value: Any) -> QWidget:
        emit = functools.partial(self._emit, spec.name)
        if spec.choices:
            box = QComboBox()
            for choice in spec.choices:
                box.addItem(str(choice), choice)
            box.setCurrentIndex(list(spec.choices).index(value))
            box.currentIndexChanged.connect(lambda i, b=box, e=emit: e(b.itemData(i)))
            return box
        if spec.type is bool:
            check = QCheckBox()
            check.setChecked(bool(value))
            check.toggled.connect(emit)
            return check
        if spec.type in (int, float):
            return NumberEditor(spec, value, emit)
        return PathEditor(spec, str(value), emit)


class NumberEditor(QWidget):
    """A slider and a spin box kept in step; the spin box is the value of record."""

    def __init__(self, spec: ParamSpec, value: float, emit):
        super().__init__()
        self.spec = spec
        self._emit = emit
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        lo = spec.min if spec.min is not None else -1e6
        hi = spec.max if spec.max is not None else 1e6
        if spec.type is int:
            self.spin = QSpinBox()
            self.spin.setRange(int(lo), int(hi))
        else:
            self.spin = QDoubleSpinBox()
            self.spin.setRange(lo, hi)
            step = spec.step or (hi - lo) / 100
            self.spin.setSingleStep(step)
            self.spin.setDecimals(max(2, -math.floor(math.log10(step)) if step > 0 else 2))
        self.spin.setValue(value)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self._lo, self._hi = lo, hi
        self.slider.setValue(self._to_slider(value))
        self.slider.setEnabled(spec.min is not None and spec.max is not None)
        row.addWidget(self.slider, 3)
        row.addWidget(self.spin, 1)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def _to_slider(self, value: float) -> int:
        if self._hi <= self._lo:
            return 0
        return round((value - self._lo) / (self._hi - self._lo) * SLIDER_STEPS)

    def _from_slider(self, position: int) -> None:
        value = self._lo + (self._hi - self._lo) * position / SLIDER_STEPS
        self.spin.setValue(round(value) if self.spec.type is int else value)

    def _from_spin(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(value))
        self.slider.blockSignals(False)
        self._emit(int(value) if self.spec.type is int else float(value))

    def set_value(self, value: float) -> None:
        self.spin.setValue(value)


class PathEditor(QWidget):
    def __init__(self, spec: ParamSpec, value: str, emit):
        super().__init__()
        self._emit = emit
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(value)
        self.edit.editingFinished.connect(lambda: self._emit(self.edit.text()))
        row.addWidget(self.edit)
        if spec.kind == "path":
            browse = QPushButton("…")
            browse.setFixedWidth(28)
            browse.clicked.connect(self._browse)
            row.addWidget(browse)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.edit.text())
        if path:
            self.set_value(path)

    def set_value(self, value: str) -> None:
        self.edit.setText(value)
        self._emit(value)

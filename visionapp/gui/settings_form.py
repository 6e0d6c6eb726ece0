"""A training config's settings as a form, generated from its dataclass fields.

The same :func:`visionapp.core.params.specs` that make the command line's options make the
editors here, with the same defaults, ranges, choices and help (as tooltips). Unlike a
processor's panel (:mod:`visionapp.gui.params`), nothing applies live: the values are read once,
into a config, when a run starts, so plain spin boxes serve better than sliders over ranges such as
1 to 10,000 epochs. Fields the config declares inapplicable for the current values
(``applies``, e.g. fine-tuning for a CNN trained from scratch) are disabled, with the reason as
their tooltip and, under the form, in words ("not used now: fine tune layers, …: only a
pretrained backbone can be fine-tuned").
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from visionapp.core.params import ParamSpec, specs
from visionapp.training.settings import inapplicable

INT_LIMIT = 2**31 - 1  # a QSpinBox holds a C int
WIDE = ("path", "folder")  # kinds that take a whole row


class ChoiceBox(QComboBox):
    def __init__(self, spec: ParamSpec, titles: Mapping[Any, str]):
        super().__init__()
        for choice in spec.choices:
            self.addItem(titles.get(choice, str(choice)), choice)
            self.setItemData(self.count() - 1, titles.get(choice, str(choice)),
                             Qt.ItemDataRole.ToolTipRole)
        # Long titles may be cut in a narrow dialog rather than widen it past the screen.
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(14)
        self.edited = self.currentIndexChanged

    def value(self) -> Any:
        return self.currentData()

    def set_value(self, value: Any) -> None:
        self.setCurrentIndex(self.findData(value))


class FlagBox(QCheckBox):
    def __init__(self, spec: ParamSpec):
        super().__init__()
        self.edited = self.toggled

    def value(self) -> bool:
        return self.isChecked()

    def set_value(self, value: bool) -> None:
        self.setChecked(bool(value))


class IntBox(QSpinBox):
    def __init__(self, spec: ParamSpec):
        super().__init__()
        self.setRange(max(-INT_LIMIT, int(spec.min if spec.min is not None else -INT_LIMIT)),
                      min(INT_LIMIT, int(spec.max if spec.max is not None else INT_LIMIT)))
        self.edited = self.valueChanged

    def set_value(self, value: int) -> None:
        self.setValue(value)


class FloatBox(QDoubleSpinBox):
    """Shows values as written (1e-05, 0.3), never rounded to a fixed number of decimals. Over a
    positive range of three decades or more (learning rates) a step doubles or halves the value;
    otherwise it adds a round step about a hundredth of the range. A range from 0 ("0: the
    automatic value") with a declared ``step`` counts its decades from that step, and stepping
    up from 0 starts there."""

    def __init__(self, spec: ParamSpec):
        super().__init__()
        lo = spec.min if spec.min is not None else -1e9
        hi = spec.max if spec.max is not None else 1e9
        self.setDecimals(12)
        self.setRange(lo, hi)
        floor = lo if lo > 0 else (spec.step or 0) if lo == 0 else 0
        self.geometric = floor > 0 and hi / floor >= 1e3
        self.setSingleStep(spec.step or 10 ** round(math.log10((hi - lo) / 100)))
        self.edited = self.valueChanged

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt API
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            partial = all(ch in "0123456789.eE+-" for ch in text)
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, pos
        if not self.minimum() <= value <= self.maximum():
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        if self.geometric:
            value = self.value()
            if value <= 0 < steps:  # from 0 (automatic) to the declared step
                value = self.singleStep() / 2
            self.setValue(value * 2.0 ** steps)
        else:
            super().stepBy(steps)

    def set_value(self, value: float) -> None:
        self.setValue(value)


class TextBox(QWidget):
    """A line edit, with a "…" button picking a file (kind "path") or a folder ("folder").
    Emptied, it stands for the field's default."""

    def __init__(self, spec: ParamSpec, file_filter: str = ""):
        super().__init__()
        self.spec = spec
        self.file_filter = file_filter
        self.edit = QLineEdit()
        self.edited = self.edit.textChanged
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        if spec.kind in WIDE:
            browse = QPushButton("…")
            browse.setFixedWidth(28)
            browse.clicked.connect(self.browse)
            row.addWidget(browse)

    def browse(self) -> None:
        start = self.edit.text().strip() or str(Path.home())
        if self.spec.kind == "folder":
            chosen = QFileDialog.getExistingDirectory(self, self.spec.help, start)
        else:
            chosen = QFileDialog.getOpenFileName(self, self.spec.help, start,
                                                 self.file_filter)[0]
        if chosen:
            self.set_value(chosen)

    def value(self) -> str:
        text = self.edit.text().strip()
        required = self.spec.default is dataclasses.MISSING
        return text or ("" if required else self.spec.default)

    def set_value(self, value: str) -> None:
        self.edit.setText(str(value))


def make_editor(spec: ParamSpec, titles: Mapping[Any, str], file_filter: str) -> QWidget:
    """The editor of one field: it has ``value()``, ``set_value()`` and an ``edited`` signal."""
    if spec.choices:
        return ChoiceBox(spec, titles)
    if spec.type is bool:
        return FlagBox(spec)
    if spec.type is int:
        return IntBox(spec)
    if spec.type is float:
        return FloatBox(spec)
    return TextBox(spec, file_filter)


class SettingsForm(QWidget):
    """Every field of ``config_cls``, two to a row (paths take a whole row), starting at the
    field's default or at ``values``. ``titles`` names the choices of a field for people
    (``{"kind": {"course": "Course CNN"}}``); ``file_filters`` are the file pickers' filters."""

    changed = Signal()

    def __init__(self, config_cls: type, *, values: Mapping[str, Any] | None = None,
                 titles: Mapping[str, Mapping[Any, str]] | None = None,
                 file_filters: Mapping[str, str] | None = None, columns: int = 2,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.config_cls = config_cls
        self.specs = {spec.name: spec for spec in specs(config_cls)}
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        columns = 1 if columns < 2 else 2
        row, column = 0, 0
        for name, spec in self.specs.items():
            editor = make_editor(spec, (titles or {}).get(name, {}),
                                 (file_filters or {}).get(name, ""))
            start = (values or {}).get(name, spec.default)
            if start is not dataclasses.MISSING:
                editor.set_value(start)
            editor.edited.connect(functools.partial(self._edited, name))
            label = QLabel(name.replace("_", " "))
            self.editors[name], self.labels[name] = editor, label
            if spec.kind in WIDE:
                row += column
                grid.addWidget(label, row, 0)
                grid.addWidget(editor, row, 1, 1, 3)
                row, column = row + 1, 0
                continue
            grid.addWidget(label, row, 2 * column)
            grid.addWidget(editor, row, 2 * column + 1)
            if columns == 1:
                row += 1
            else:
                row, column = row + column, 1 - column
        self.unused_note = QLabel()
        self.unused_note.setWordWrap(True)
        self.unused_note.setForegroundRole(QPalette.ColorRole.WindowText)
        grid.addWidget(self.unused_note, row + column + 1, 0, 1, 4)
        self._refresh()

    def value(self, name: str) -> Any:
        return self.editors[name].value()

    def values(self) -> dict[str, Any]:
        return {name: editor.value() for name, editor in self.editors.items()}

    def set_value(self, name: str, value: Any) -> None:
        self.editors[name].set_value(value)

    def config(self) -> Any:
        """The config of the current values; ParameterError (one line) for a value it refuses."""
        return self.config_cls(**self.values())

    def _edited(self, name: str, *_: Any) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        ignored = inapplicable(self.config_cls, self.values())
        for name, editor in self.editors.items():
            reason = ignored.get(name)
            tip = f"not used: {reason}" if reason else self.specs[name].help
            for widget in (editor, self.labels[name]):
                widget.setEnabled(reason is None)
                widget.setToolTip(tip)
        by_reason: dict[str, list[str]] = {}
        for name, reason in ignored.items():
            by_reason.setdefault(reason, []).append(name.replace("_", " "))
        lines = [f"• {', '.join(names)}: {reason}" for reason, names in by_reason.items()]
        self.unused_note.setText("<i>Greyed out, not used now:</i><br>" + "<br>".join(lines)
                                 if lines else "")
        self.unused_note.setVisible(bool(lines))

    def missing(self) -> list[str]:
        """Required fields (no default) left empty, by name."""
        return [name for name, spec in self.specs.items()
                if spec.default is dataclasses.MISSING and not str(self.value(name)).strip()]

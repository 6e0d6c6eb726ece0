"""A processor's settings panel, generated from its dataclass fields.

Each parameter gets a row: its name and editor (:mod:`visionapp.gui.param_editors`), its help
text beneath in the window's own text colour, and a line for notices ("40 is out of range: 30
is the maximum …") that shows for a few seconds. A row whose field would not fit beside its
name puts the field under the name, so no field is ever narrower than it asks to be.

Rules between parameters (:class:`visionapp.core.params.Rule`, e.g. Canny's low ≤ high) are
checked on every edit: a broken one shows its message in red under the fields it names, and
nothing is applied until the values agree again; then ``changed`` carries every value the
processor does not have yet, together, so the processor never sees half an edit.

For the window: :meth:`ParamPanel.follow` (and :meth:`ParamPanel.set_value`) show values set
elsewhere — a click on the view, a preset, a trained model handed over — without reporting them
back as edits. :class:`visionapp.gui.chain_panel.ChainPanel` calls it from ``apply``, so code
that changes a processor through ``ChainPanel.apply``/``set_param`` needs nothing more.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QWidget

from visionapp.core.params import ParamSpec, broken_rules, specs
from visionapp.gui.cnn_editors import KernelEditor, LayerPicker
from visionapp.gui.param_editors import make_editor

ERROR_COLOR = "#c62828"  # broken rules: red, 5.6:1 on white
NOTICE_COLOR = "#9a4a00"  # corrected input: dark amber, 6:1 on white
NOTICE_MS = 6000  # how long a notice stays


def small_font(widget: QWidget) -> QFont:
    font = QFont(widget.font())
    font.setPointSizeF(max(7.5, font.pointSizeF() * 0.9))
    return font



def reflowed(docstring: str) -> str:
    """A processor's docstring for a word-wrapped label: each paragraph on one line (the
    source's line breaks would otherwise break lines mid-sentence), paragraphs kept apart."""
    text = inspect.cleandoc(docstring).replace("``", "")
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())

class ParamPanel(QWidget):
    """``changed`` carries {name: value} of the edits to apply (all of them together); {} asks
    for a fresh processor with the same settings (the restart button of a processor with
    ``restart_label``)."""

    changed = Signal(object)

    def __init__(self, processor: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.processor = processor
        self.processor_name = processor.name
        self.specs = {spec.name: spec for spec in specs(type(processor))}
        self.values: dict[str, Any] = {n: getattr(processor, n) for n in self.specs}
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.help_labels: dict[str, QLabel] = {}
        self.notes: dict[str, QLabel] = {}
        self.rule_labels: list[QLabel] = []  # one per rule of the class, in declaration order
        self._note_timers: dict[str, QTimer] = {}
        layout = QFormLayout(self)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setVerticalSpacing(3)
        doc = reflowed(type(processor).__doc__ or "")
        if doc:
            self.about = QLabel(doc)
            self.about.setWordWrap(True)
            self.about.setForegroundRole(QPalette.ColorRole.WindowText)
            layout.addRow(self.about)
        restart = getattr(type(processor), "restart_label", "")
        if restart:  # a processor that keeps state (counts, a heat map) starts again
            self.restart_button = QPushButton(restart)
            self.restart_button.setToolTip("start again from zero, keeping every setting")
            self.restart_button.clicked.connect(lambda: self.changed.emit({}))
            layout.addRow(self.restart_button)
        rules = getattr(type(processor), "rules", ())
        order = list(self.specs)
        after = [max((order.index(f) for f in rule.fields if f in order), default=len(order) - 1)
                 for rule in rules]  # a rule's message goes under the last of its fields
        self.rule_labels = [self._message_label(ERROR_COLOR, bold=True) for _ in rules]
        for index, spec in enumerate(self.specs.values()):
            self._add_row(layout, spec)
            for rule_index, position in enumerate(after):
                if position == index:
                    layout.addRow(self.rule_labels[rule_index])
        self._check_rules()

    # ---------------------------------------------------------------- building

    def _add_row(self, layout: QFormLayout, spec: ParamSpec) -> None:
        name = spec.name
        if spec.kind == "kernel":
            editor: QWidget = KernelEditor(self.values[name], self.values.get("preset"),
                                           self._edited_together)
        elif spec.kind == "layer":
            editor = LayerPicker(self.values[name], getattr(self.processor, "layer_choices", None),
                                 functools.partial(self._edited, name))
        else:
            editor = make_editor(spec, self.values[name], functools.partial(self._edited, name),
                                 functools.partial(self.notify, name))
        editor.setToolTip(editor.toolTip() or spec.help or name)
        editor.setMinimumWidth(editor.sizeHint().width())  # wrap under the label, never squeeze
        label = QLabel(name.replace("_", " "))
        label.setToolTip(spec.help or name)
        label.setBuddy(editor)
        self.editors[name], self.labels[name] = editor, label
        layout.addRow(label, editor)
        if spec.help:
            help_label = QLabel(spec.help)
            help_label.setWordWrap(True)
            help_label.setFont(small_font(self))
            help_label.setForegroundRole(QPalette.ColorRole.WindowText)  # not a faded grey
            help_label.setIndent(2)
            self.help_labels[name] = help_label
            layout.addRow(help_label)
        note = self._message_label(NOTICE_COLOR)
        self.notes[name] = note
        layout.addRow(note)

    def _message_label(self, color: str, bold: bool = False) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {color};" + (" font-weight: bold;" if bold else ""))
        label.hide()
        return label

    def _wrapped_labels(self) -> list[QLabel]:
        about = [self.about] if hasattr(self, "about") else []
        return [*about, *self.help_labels.values(), *self.notes.values(), *self.rule_labels]

    def _fit_heights(self) -> None:
        """Give each word-wrapped line the height its text takes at the panel's width (the
        form layout alone squeezes a two-line note into one line's height)."""
        margins = self.layout().contentsMargins()
        width = self.width() - margins.left() - margins.right()
        if width <= 0:
            return
        for label in self._wrapped_labels():
            height = label.heightForWidth(width) if label.text() else 0
            if label.minimumHeight() != max(0, height):
                label.setMinimumHeight(max(0, height))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_heights()

    def needed_width(self) -> int:
        """The width (margins included) at which every field gets its size hint, with the
        fields under their labels where need be."""
        margins = self.layout().contentsMargins()
        widest = max([w.minimumWidth() for w in self.editors.values()]
                     + [w.sizeHint().width() for w in self.labels.values()] + [120])
        return widest + margins.left() + margins.right()

    # ---------------------------------------------------------------- edits

    def _edited(self, name: str, value: Any) -> None:
        self._edited_together({name: value})

    def _edited_together(self, edits: dict[str, Any]) -> None:
        """Several fields edited at once (the kernel grid sets preset and kernel): the other
        editors show their new values, and the rules see them all."""
        for name, value in edits.items():
            if len(edits) > 1 and value != self.values.get(name):
                self.editors[name].show_value(value)
            self.values[name] = value
        if self._check_rules():
            changes = {n: v for n, v in self.values.items()
                       if v != getattr(self.processor, n)}
            if changes:
                self.changed.emit(changes)

    def _check_rules(self) -> bool:
        """Show the message of each broken rule under its fields; True if all hold."""
        broken = {tuple(e.fields): e for e in broken_rules(type(self.processor), self.values,
                                                           self.processor_name)}
        marked: set[str] = set()
        for rule, label in zip(getattr(type(self.processor), "rules", ()), self.rule_labels,
                               strict=True):
            error = broken.get(tuple(rule.fields))
            if error is None:
                label.hide()
                continue
            text = str(error).replace(f"{self.processor_name}.", "")
            label.setText(f"⚠ {text} — not applied until this is fixed")
            label.show()
            self._fit_heights()
            marked.update(rule.fields)
        for name, label in self.labels.items():
            label.setStyleSheet(f"color: {ERROR_COLOR};" if name in marked else "")
        return not broken

    def broken_messages(self) -> list[str]:
        """The rule messages shown now (empty when every rule holds)."""
        return [label.text() for label in self.rule_labels if not label.isHidden()]

    def notify(self, name: str, text: str) -> None:
        """Show ``text`` under field ``name`` for a few seconds (a corrected value, say)."""
        note = self.notes[name]
        note.setText(text)
        note.show()
        self._fit_heights()
        timer = self._note_timers.get(name)
        if timer is None:
            timer = self._note_timers[name] = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(note.hide)
        timer.start(NOTICE_MS)

    # ---------------------------------------------------------------- values set elsewhere

    def set_value(self, name: str, value: Any) -> None:
        """Show ``value`` for ``name`` without reporting it as an edit."""
        self.values[name] = value
        self.editors[name].show_value(value)
        self._check_rules()

    def follow(self, processor: Any) -> None:
        """The processor now has these values (applied here or elsewhere): show them all."""
        self.processor = processor
        for name in self.specs:
            value = getattr(processor, name)
            if value != self.values.get(name):
                self.values[name] = value
                self.editors[name].show_value(value)
        self._check_rules()

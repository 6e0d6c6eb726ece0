"""The layer table with the course's arithmetic written out, for any Keras model visionapp trains.

Per top-level layer: the output size by ``(W − F + 2P)/S + 1`` with the numbers in, the
parameter count as a formula (``(3×3×3)×32 + 32 = 896``: kernel height × width × input
channels, times filters, plus one bias per filter) and the receptive field: how many pixels of
the model's (resized) input one output value depends on. Receptive fields grow layer by layer
as ``r_out = r_in + (F − 1)·j_in`` and ``j_out = j_in·S``, j being the distance in input pixels
between neighbouring outputs. Each formula is text that evaluates to Keras' own numbers; the
tests check exactly that. Keras is imported only when a table is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from visionapp.processors.cnn_arithmetic import size_formula


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str  # the Keras layer class
    output_shape: tuple[int | None, ...]  # without the batch dimension
    params: int
    output_formula: str  # "(64 − 3 + 2×0)/1 + 1 = 62 → 62×62×32"
    param_formula: str  # "(3×3×3)×32 + 32 = 896"
    receptive_field: int | None  # side in pixels of the model's input; None: not defined
    receptive_field_formula: str  # "4 + (3 − 1)×2 = 8"


@dataclass
class _Field:
    """Receptive field r and jump j in pixels of the model's input, and that input's side."""

    r: int = 1
    j: int = 1
    side: int | None = None
    whole: bool = False


def _shape(tensor) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in tensor.shape[1:])


def _dims(shape: tuple[int | None, ...]) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _window_formula(in_hw, f_hw, s_hw, padding: str, out_shape) -> str:
    """The output-size formula for a sliding window (conv or pool) in Keras' padding modes."""
    parts = []
    for side, f, s in zip(in_hw, f_hw, s_hw, strict=True):
        if side is None:
            return f"→ {_dims(out_shape)}"
        if padding == "valid":
            parts.append(size_formula(side, f, 0, s))
        elif s == 1 and f % 2:
            parts.append(size_formula(side, f, (f - 1) // 2, 1))
        else:  # Keras "same" with a stride: ⌈W/S⌉, the padding split as needed
            parts.append(f"⌈{side}/{s}⌉ = {math.ceil(side / s)}")
    text = parts[0] if parts[0] == parts[1] else f"height {parts[0]}; width {parts[1]}"
    return f"{text} → {_dims(out_shape)}"


def _grow(field: _Field, f: int, s: int) -> str:
    if field.whole:
        return "—"
    formula = f"{field.r} + ({f} − 1)×{field.j}"
    field.r += (f - 1) * field.j
    field.j *= s
    return f"{formula} = {field.r}"


def _everything(field: _Field) -> str:
    field.whole = True
    return "the whole input" if field.side is None else f"all {field.side}×{field.side} pixels"


def _conv(layer, field: _Field):
    in_shape, out_shape = _shape(layer.input), _shape(layer.output)
    fh, fw = _pair(layer.kernel_size)
    dil = _pair(getattr(layer, "dilation_rate", 1))
    fh, fw = dil[0] * (fh - 1) + 1, dil[1] * (fw - 1) + 1  # a dilated kernel spans more
    kh, kw = _pair(layer.kernel_size)
    s = _pair(layer.strides)
    c_in = in_shape[-1]
    import keras

    if isinstance(layer, keras.layers.DepthwiseConv2D):
        outs = c_in * layer.depth_multiplier
        weights = f"({kh}×{kw}×1)×{outs}"
    else:
        outs = layer.filters
        weights = f"({kh}×{kw}×{c_in})×{outs}"
    params = f"{weights} + {outs}" if layer.use_bias else weights
    return (_window_formula(in_shape[:2], (fh, fw), s, layer.padding, out_shape), params,
            _grow(field, fh, s[0]))


def _pool(layer, field: _Field):
    in_shape, out_shape = _shape(layer.input), _shape(layer.output)
    f, s = _pair(layer.pool_size), _pair(layer.strides)
    return (_window_formula(in_shape[:2], f, s, layer.padding, out_shape), "0",
            _grow(field, f[0], s[0]))


def _global_pool(layer, field: _Field):
    in_shape = _shape(layer.input)
    return (f"one value per channel: {_dims(in_shape)} → {in_shape[-1]}", "0",
            _everything(field))


def _flatten(layer, field: _Field):
    in_shape, out_shape = _shape(layer.input), _shape(layer.output)
    text = f"{_dims(in_shape)} = {out_shape[0]}" if None not in in_shape else "→ ?"
    return text, "0", _everything(field)


def _dense(layer, field: _Field):
    n_in = _shape(layer.input)[-1]
    weights = f"{n_in}×{layer.units}"
    return (f"→ {layer.units}", f"{weights} + {layer.units}" if layer.use_bias else weights,
            _everything(field))


def _batch_norm(layer, field: _Field):
    channels = _shape(layer.output)[-1]
    per = int(layer.count_params()) // channels  # γ, β, moving mean, moving variance
    return "same as its input", f"{per}×{channels}", _unchanged(field)


def _resize(layer, field: _Field):
    out_shape = _shape(layer.output)
    field.r, field.j, field.whole = 1, 1, False
    field.side = out_shape[0] if out_shape[0] == out_shape[1] else None
    return f"resized to {_dims(out_shape)}", "0", "1 (pixels counted from here)"


def _nested(layer, field: _Field):
    field.whole = True  # not followed through a backbone's branches
    return (f"→ {_dims(_shape(layer.output))}",
            f"the sum over its {len(layer.layers)} layers", "—")


def _unchanged(field: _Field) -> str:
    return _everything(field) if field.whole else str(field.r)


def _input(layer, field: _Field):
    out_shape = _shape(layer.output)
    field.side = out_shape[0] if out_shape[0] == out_shape[1] else None
    return f"input {_dims(out_shape)}", "0", "1"


def _other(layer, field: _Field):
    in_shape, out_shape = _shape(layer.input), _shape(layer.output)
    text = "same as its input" if in_shape == out_shape else f"→ {_dims(out_shape)}"
    return text, str(int(layer.count_params())), _unchanged(field)


def _handlers() -> list[tuple[type, Callable]]:
    """(Keras layer class, row maker) in the order they are tried; the first match wins."""
    import keras
    from keras import layers

    return [
        (layers.InputLayer, _input), (layers.DepthwiseConv2D, _conv), (layers.Conv2D, _conv),
        (layers.MaxPooling2D, _pool), (layers.AveragePooling2D, _pool),
        (layers.GlobalAveragePooling2D, _global_pool), (layers.GlobalMaxPooling2D, _global_pool),
        (layers.Flatten, _flatten), (layers.Dense, _dense),
        (layers.BatchNormalization, _batch_norm), (layers.Resizing, _resize),
        (keras.Model, _nested),
    ]


def _with_total(formula: str, total: int) -> str:
    return formula if formula.isdigit() else f"{formula} = {total:,}"


def layer_table(model) -> list[LayerRow]:
    """One row per top-level layer of the Keras ``model``, in order."""
    handlers = _handlers()
    field = _Field()
    rows = []
    for layer in model.layers:
        make = next((fn for cls, fn in handlers if isinstance(layer, cls)), _other)
        out_text, params_text, rf_text = make(layer, field)
        params = int(layer.count_params())
        if rf_text.startswith(("all", "the whole")):
            rf = field.side
        else:
            rf = None if field.whole else field.r
        rows.append(LayerRow(layer.name, type(layer).__name__, _shape(layer.output), params,
                             out_text, _with_total(params_text, params), rf, rf_text))
    return rows

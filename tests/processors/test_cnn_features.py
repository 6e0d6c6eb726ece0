"""cnn.features and the layer table: a model's feature maps and filters, checked against Keras
computing the same layer directly, and the course's shape and parameter arithmetic checked
against Keras' own numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from visionapp.cli import main
from visionapp.core.errors import BadInput, ModelNotFound
from visionapp.core.images import resize_square
from visionapp.core.types import Frame
from visionapp.paths import PRESETS_DIR
from visionapp.processors.cnn_features import CnnFeatures, feature_layers

CLASSES = ["circles", "squares"]


def _save(model, folder: Path, name: str, image_size: int) -> Path:
    path = folder / f"{name}.keras"
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"class_names": CLASSES,
                                                     "image_size": image_size}))
    return path


@pytest.fixture(scope="module")
def keras_models(tmp_path_factory):
    """An untrained course CNN (32×32 input, seeded weights) and a model without convolutions,
    each saved with the card the classifier loader needs."""
    from visionapp.core.frameworks import before_tensorflow

    before_tensorflow()
    import keras

    from visionapp.training.classifier_models import course_cnn

    folder = tmp_path_factory.mktemp("cnn_models")
    keras.utils.set_random_seed(7)
    course = _save(course_cnn(2, 32).model, folder, "course", 32)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Resizing(16, 16)(inputs)
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(x))
    dense = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    return course, _save(dense, folder, "dense_only", 16)


@pytest.fixture(scope="module")
def frame() -> Frame:
    image = np.random.default_rng(0).integers(0, 80, (48, 64, 3), np.uint8)
    cv2.circle(image, (20, 24), 12, (40, 200, 240), -1)
    cv2.rectangle(image, (38, 8), (58, 30), (230, 230, 230), -1)
    return Frame(image, 0, 0, still=True)


def direct(model_path: Path, layer: str, frame: Frame) -> np.ndarray:
    """The layer's output computed straight from Keras: keras.Model(inputs, layer.output) on
    the frame prepared as the classifier prepares it (RGB, resized to the card's size)."""
    import keras

    model = keras.models.load_model(model_path, safe_mode=True)
    size = json.loads(model_path.with_suffix(".json").read_text())["image_size"]
    rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
    x = resize_square(rgb, size)[None].astype(np.float32)
    return np.asarray(keras.Model(model.input, model.get_layer(layer).output)(x))[0]


def test_mosaic_shape_and_channel_order_match_keras(keras_models, frame):
    course, _ = keras_models
    act = direct(course, "conv1", frame)
    assert act.shape == (30, 30, 32)  # (32 − 3)/1 + 1 = 30, 32 filters
    proc = CnnFeatures(model=str(course), channels=16)
    view = proc.features(frame)
    expected = np.argsort(-np.abs(act).mean(axis=(0, 1)), kind="stable")[:16]
    assert view.layer.name == "conv1" and view.shape == (30, 30, 32)
    assert list(view.channels) == expected.tolist()
    assert view.tiles.grid_rc == (4, 4) and view.tiles.image.shape[:2] == (4 * 31 - 1,) * 2
    for k, c in enumerate(expected):
        plane = act[..., c]
        levels = np.round(plane / plane.max() * 255)  # ReLU output: 0 … its peak
        assert np.abs(view.levels[k].astype(int) - levels).max() <= 1
        x, y, w, h = view.tiles.tile_xywh(k)
        assert (w, h) == (30, 30) and view.tiles.tile_at((x + 3, y + 3)) == k
    first = CnnFeatures(model=str(course), pick="first", channels=5).features(frame)
    assert first.channels == (0, 1, 2, 3, 4) and first.tiles.grid_rc == (2, 3)
    result = proc(frame)
    assert result.overlay.shape == frame.image.shape and result.overlay_mode == "side_by_side"
    assert result.values["layer"] == "conv1" and result.values["channels"] == expected.tolist()
    assert result.values["shape"] == [30, 30, 32]


def test_deeper_layers(keras_models, frame):
    course, _ = keras_models
    deep = CnnFeatures(model=str(course), layer="last_conv", channels=32).features(frame)
    assert deep.layer.name == "conv2" and deep.shape == (13, 13, 32)  # (15 − 3)/1 + 1
    act = direct(course, "conv2", frame)
    np.testing.assert_array_equal(
        sorted(deep.channels), np.arange(32))  # all 32 shown, most active first
    assert deep.channels[0] == int(np.argmax(np.abs(act).mean(axis=(0, 1))))
    pool = CnnFeatures(model=str(course), layer="pool1").features(frame)
    assert pool.shape == (15, 15, 32)  # (30 − 2)/2 + 1 = 15
    import keras

    model = keras.models.load_model(course)
    assert [f.name for f in feature_layers(model)] == ["resize", "rescale", "conv1", "pool1",
                                                       "conv2", "pool2"]


def test_filters_view_shows_the_learned_kernels(keras_models, frame):
    import keras

    course, _ = keras_models
    kernel = keras.models.load_model(course).get_layer("conv1").get_weights()[0]
    view = CnnFeatures(model=str(course), view="filters", channels=8).features(frame)
    assert view.shape == (3, 3, 3, 32)
    norms = np.sqrt((kernel**2).sum(axis=(0, 1, 2)))
    assert list(view.channels) == np.argsort(-norms, kind="stable")[:8].tolist()
    c = view.channels[0]
    weights_bgr = kernel[..., c][..., ::-1]  # the model sees RGB
    expected = np.round((weights_bgr - weights_bgr.min()) / np.ptp(weights_bgr) * 255)
    np.testing.assert_array_equal(view.tiles.tile(0), expected.astype(np.uint8))
    result = CnnFeatures(model=str(course), view="filters")(frame)
    assert result.values["view"] == "filters" and result.values["shape"] == [3, 3, 3, 32]


def test_bad_models_and_layers_are_one_clear_line(keras_models, frame, tmp_path):
    course, dense = keras_models
    missing = CnnFeatures(model=str(tmp_path / "nothing.keras"))
    result = missing(frame)
    assert result.values == {} and "no model" in result.text[0] and result.overlay is None
    with pytest.raises(ModelNotFound):
        missing.prepare()
    cases = [({"model": str(dense)}, "has no convolution layers"),
             ({"model": str(course), "layer": "conv9"}, "has no layer 'conv9'; choose "
              "first_conv, last_conv or one of: resize (32×32×3), rescale (32×32×3), "
              "conv1 (30×30×32)"),
             ({"model": str(course), "layer": "dense"}, "gives no feature map"),
             ({"model": str(course), "layer": "pool1", "view": "filters"}, "has no kernels")]
    for params, words in cases:
        result = CnnFeatures(**params)(frame)
        (line,) = result.text
        assert words in line and result.values == {} and result.overlay is None, line
    for params, words in cases[:3]:
        with pytest.raises(BadInput, match=words.split(";")[0]):
            CnnFeatures(**params).prepare()


def test_batch_stops_before_the_first_frame(keras_models, capsys, tmp_path):
    course, dense = keras_models
    image = tmp_path / "shape.png"
    cv2.imwrite(str(image), np.zeros((40, 40, 3), np.uint8))
    out = tmp_path / "out.mp4"
    for setting, words in (("cnn.features.layer=conv9", "has no layer 'conv9'"),
                           (f"cnn.features.model={dense}", "no convolution layers")):
        args = ["process", str(image), "-p", "cnn.features", "--set",
                f"cnn.features.model={course}", "--set", setting, "--out", str(out), "-q"]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0] and err[0].startswith("visionapp: error:")
        assert not out.exists()


def test_inside_the_cnn_preset_runs_in_batch(keras_models, capsys, tmp_path):
    course, _ = keras_models
    preset = PRESETS_DIR / "inside_the_cnn.toml"
    image = tmp_path / "shape.png"
    cv2.imwrite(str(image), np.full((48, 64, 3), 90, np.uint8))
    records = tmp_path / "r.jsonl"
    frames = tmp_path / "frames"
    assert main(["process", str(image), "--chain", str(preset), "--set",
                 f"classifier.model={course}", "--set", f"cnn.features.model={course}",
                 "--detections", str(records), "--frames-dir", str(frames), "-q"]) == 0
    (record,) = [json.loads(line) for line in records.read_text().splitlines()]
    results = record["results"]
    assert [r["processor"] for r in results] == ["classifier", "cnn.features", "cnn.features",
                                                 "conv.kernel"]
    assert [r["values"]["layer"] for r in results[1:3]] == ["conv1", "conv2"]
    (saved,) = frames.iterdir()
    # frame | first maps | deep maps | the notes' kernel by hand
    assert cv2.imread(str(saved)).shape == (48, 4 * 64, 3)
    assert main(["process", str(image), "--chain", str(preset), "-q"]) == 2  # no model yet
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "classifier.keras" in err[0]


def test_backbone_blocks_of_a_transfer_model(tmp_path, frame, shared):
    """MobileNetV2 inside a transfer model: the picker offers its named blocks, and a block's
    maps equal the backbone cut at that block, fed the model's own preprocessing."""
    import keras

    from visionapp.training.classifier_models import backbone_of, transfer

    weights = shared("models/mobilenet_v2_0.35_224_no_top.weights.h5")
    path = _save(transfer("mobilenet_v2", 2, weights).model, tmp_path, "pets", 224)
    model = keras.models.load_model(path, safe_mode=True)
    names = [f.name for f in feature_layers(model)]
    assert {"block_1_project_BN", "block_2_add", "block_16_project_BN", "out_relu"} <= set(names)
    assert not any(n.startswith("block_2_expand") for n in names)  # one entry per block
    view = CnnFeatures(model=str(path), layer="block_3_project_BN", channels=4).features(frame)
    base = backbone_of(model)
    cut = keras.Model(base.input, base.get_layer("block_3_project_BN").output)
    rgb = resize_square(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB), 224).astype(np.float32)
    act = np.asarray(cut((rgb / 127.5 - 1)[None]))[0]
    assert view.shape == act.shape == (28, 28, 16) and view.signed  # BN output: signed
    assert list(view.channels) == np.argsort(-np.abs(act).mean(axis=(0, 1)),
                                             kind="stable")[:4].tolist()
    assert CnnFeatures(model=str(path)).features(frame).layer.name == "Conv1"


# ----------------------------------------------------------------------------- the layer table


def evaluate(expression: str) -> float:
    """A formula's left side as Python: − → -, × → *, ⌊x⌋ → floor(x), thousands commas off."""
    code = (expression.replace("−", "-").replace("×", "*").replace(",", "")
            .replace("⌊", "floor(").replace("⌋", ")").replace("⌈", "ceil(").replace("⌉", ")"))
    return eval(code, {"__builtins__": {}, "floor": math.floor, "ceil": math.ceil})  # noqa: S307


def test_course_cnn_layer_formulas_evaluate_to_keras_numbers():
    from visionapp.processors.cnn_layers import layer_table
    from visionapp.training.classifier_models import course_cnn

    model = course_cnn(1).model
    rows = layer_table(model)
    assert [r.name for r in rows] == [layer.name for layer in model.layers]
    checked_sizes = 0
    for row, layer in zip(rows, model.layers, strict=True):
        shape = tuple(layer.output.shape)[1:]
        assert row.output_shape == shape and row.params == layer.count_params()
        if "=" in row.param_formula:
            lhs, rhs = row.param_formula.split(" = ")
            assert evaluate(lhs) == layer.count_params() == int(rhs.replace(",", ""))
        else:
            assert int(row.param_formula) == layer.count_params()
        if "=" in row.output_formula:
            sizes, _, dims = row.output_formula.partition(" → ")
            lhs, rhs = sizes.split(" = ")
            assert evaluate(lhs) == int(rhs) == shape[0] == (shape[1] if len(shape) > 1
                                                              else shape[0])
            if dims:
                assert dims == "×".join(str(d) for d in shape)
            checked_sizes += 1
    assert checked_sizes == 5  # conv1, pool1, conv2, pool2, flatten
    by_name = {r.name: r for r in rows}
    assert by_name["conv1"].param_formula == "(3×3×3)×32 + 32 = 896"
    assert by_name["conv2"].param_formula == "(3×3×32)×32 + 32 = 9,248"
    assert by_name["dense"].param_formula == "6272×128 + 128 = 802,944"
    assert by_name["pool2"].output_formula == "⌊(29 − 2 + 2×0)/2⌋ + 1 = 14 → 14×14×32"
    assert sum(r.params for r in rows) == 813_217  # the notes' total
    # Receptive fields by hand: conv1 sees 3×3; pool1 joins two conv1 outputs 1 px apart → 4;
    # conv2 joins three pool1 outputs 2 px apart → 4 + 2·2 = 8; pool2 two conv2 outputs 2 px
    # apart → 8 + 2 = 10; from flatten on, every value depends on all 64×64 input pixels.
    assert [by_name[n].receptive_field for n in ("conv1", "pool1", "conv2", "pool2",
                                                 "flatten", "prediction")] == [3, 4, 8, 10,
                                                                               64, 64]
    for name in ("conv1", "pool1", "conv2", "pool2"):
        lhs, rhs = by_name[name].receptive_field_formula.split(" = ")
        assert evaluate(lhs) == int(rhs) == by_name[name].receptive_field


def test_notes_mnist_layer_and_same_padding():
    """The notes' (28 − 3)/1 + 1 = 26 and (3×3×1)×32 + 32 = 320; 'same' keeps the size."""
    import keras

    from visionapp.processors.cnn_layers import layer_table

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(32, 3, name="valid")(inputs)
    x = keras.layers.Conv2D(8, 5, padding="same", name="same")(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False, name="strided")(x)
    rows = {r.name: r for r in layer_table(keras.Model(inputs, x))}
    assert rows["valid"].output_formula == "(28 − 3 + 2×0)/1 + 1 = 26 → 26×26×32"
    assert rows["valid"].param_formula == "(3×3×1)×32 + 32 = 320"
    assert rows["same"].output_formula == "(26 − 5 + 2×2)/1 + 1 = 26 → 26×26×8"
    assert rows["strided"].output_formula == "⌈26/2⌉ = 13 → 13×13×4"
    assert rows["strided"].param_formula == "(3×3×8)×4 = 288"
    assert rows["strided"].receptive_field == 3 + 4 + 2  # 1 → 3 → 7 → 7 + 2·1


def test_summary_rows_carry_the_arithmetic():
    from visionapp.training.classifier_models import course_cnn, summary_rows

    model = course_cnn(2).model
    plain = summary_rows(model)
    rich = summary_rows(model, arithmetic=True)
    assert [r[:4] for r in rich] == plain and all(len(r) == 7 for r in rich)
    conv1 = next(r for r in rich if r[0] == "conv1")
    assert conv1[4:] == ("(64 − 3 + 2×0)/1 + 1 = 62 → 62×62×32", "(3×3×3)×32 + 32 = 896",
                         "1 + (3 − 1)×1 = 3")


def test_layer_choices_list_each_layer_with_its_shape(keras_models, tmp_path):
    course, dense_only = keras_models
    choices = CnnFeatures(model=str(course)).layer_choices()
    assert choices[:2] == [("first_conv", "= conv1"), ("last_conv", "= conv2")]
    assert dict(choices[2:]) == {"resize": "32×32×3", "rescale": "32×32×3",
                                 "conv1": "30×30×32", "pool1": "15×15×32",
                                 "conv2": "13×13×32", "pool2": "6×6×32"}
    assert CnnFeatures(model=str(tmp_path / "missing.keras")).layer_choices() == []
    no_convs = CnnFeatures(model=str(dense_only)).layer_choices()
    assert [d for _, d in no_convs] == ["16×16×3", "16×16×3"]  # Resizing, Rescaling: no ends

"""The classifier architectures, each taking raw 0–255 images of any size: resizing and
rescaling are the model's first layers, so live inference uses exactly the training
preprocessing.

- ``course``: the course notes' CNN, reproduced as written (64×64, two 3×3 conv + max-pool
  blocks, Flatten, Dense 128, one sigmoid output).
- ``better``: what a practitioner would write from scratch today at the photos' resolution: a
  strided stem, conv stages with batch norm, global average pooling and dropout, trained with
  AdamW, warm-up + cosine, label smoothing and stronger augmentation (see classifier.py).
- ``mobilenet_v2`` / ``vgg16`` / ``efficientnet_b0``: an ImageNet backbone, frozen, with a new
  head; :func:`unfreeze_top` then fine-tunes its top layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KIND_TITLES = {  # every model kind, with the title the training dialog shows
    "course": "Course CNN (64×64, as in the notes)",
    "better": "Better CNN (batch norm, GAP, dropout)",
    "mobilenet_v2": "Transfer: MobileNetV2 (ImageNet)",
    "vgg16": "Transfer: VGG16 (ImageNet)",
    "efficientnet_b0": "Transfer: EfficientNetB0 (ImageNet)",
}
KINDS = tuple(KIND_TITLES)
BACKBONES = {
    # kind: (keras.applications name, preprocessing, default weights file, input size)
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2", "mobilenet_v2_0.35_224_no_top.weights.h5",
                     224),
    "vgg16": ("VGG16", "vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", 224),
    "efficientnet_b0": ("EfficientNetB0", "efficientnet", "efficientnetb0_notop.h5", 224),
}


@dataclass(frozen=True)
class BuiltModel:
    model: object  # keras.Model
    image_size: int
    preprocessing: str  # recorded in the model card


def _head(x, n_classes: int, dropout: float, l2: float):
    import keras

    reg = keras.regularizers.l2(l2) if l2 else None
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    if n_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=reg,
                                  dtype="float32", name="prediction")(x)
    return keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=reg,
                              dtype="float32", name="prediction")(x)


def course_cnn(n_classes: int, image_size: int = 64) -> BuiltModel:
    import keras
    from keras import layers

    inputs = keras.Input((None, None, 3), name="image")
    x = layers.Resizing(image_size, image_size, name="resize")(inputs)
    x = layers.Rescaling(1 / 255, name="rescale")(x)
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(32, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    outputs = _head(x, n_classes, 0.0, 0.0)
    return BuiltModel(keras.Model(inputs, outputs, name="course_cnn"), image_size, "1/255")


def better_cnn(n_classes: int, image_size: int = 96, dropout: float = 0.3,
               l2: float = 0.0, widths: tuple[int, ...] = (32, 64, 128, 256)) -> BuiltModel:
    """A from-scratch CNN sized for a small CPU at the photos' own resolution (96 px for
    100×100 photos): a stride-2 stem halves the image at once (the first full-resolution layer
    would otherwise cost as much as the rest of the network), then one stage per width of two
    3×3 conv + batch norm + ReLU, 2×2 max-pooling between stages, global average pooling and
    dropout. About 140 M multiply-adds per 96×96 image (the 64×64 four-block VGG it replaces:
    250 M), so a 2-core CPU trains it for enough epochs within minutes. Weight decay comes from
    the optimizer (AdamW), not from L2 terms in the loss (``l2`` stays available)."""
    import keras
    from keras import layers

    reg = keras.regularizers.l2(l2) if l2 else None

    def conv_bn_relu(x, filters: int, name: str, strides: int = 1):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                          kernel_regularizer=reg, name=f"conv{name}")(x)
        # momentum 0.9: running statistics settle within a few hundred steps, which small
        # datasets (a few dozen batches an epoch) need for inference to match training.
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{name}")(x)
        return layers.Activation("relu", name=f"relu{name}")(x)

    inputs = keras.Input((None, None, 3), name="image")
    x = layers.Resizing(image_size, image_size, name="resize")(inputs)
    x = layers.Rescaling(1 / 255, name="rescale")(x)
    x = conv_bn_relu(x, widths[0], "0", strides=2)
    for i, filters in enumerate(widths):
        if i:
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        for j in range(2):
            x = conv_bn_relu(x, filters, f"{i + 1}_{j + 1}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = _head(x, n_classes, dropout, l2)
    return BuiltModel(keras.Model(inputs, outputs, name="better_cnn"), image_size, "1/255")


def transfer(kind: str, n_classes: int, weights: Path | str | None, dropout: float = 0.2,
             l2: float = 0.0) -> BuiltModel:
    """Frozen ImageNet backbone + new head. ``weights``: a no-top weights file, "imagenet"
    (Keras downloads them), or None (random init). MobileNetV2's width (alpha) and input size
    are read from the weights file's name, not assumed."""
    import keras
    from keras import layers

    from visionapp.processors.keras_inference import custom_layers

    app_name, prep_name, _, size = BACKBONES[kind]
    kwargs = {}
    if kind == "mobilenet_v2":
        alpha, size = mobilenet_shape(weights)
        kwargs["alpha"] = alpha
    inputs = keras.Input((None, None, 3), name="image")
    x = layers.Resizing(size, size, name="resize")(inputs)
    # The backbone's own preprocess_input, as a layer (saved with the model).
    if prep_name == "mobilenet_v2":
        x = layers.Rescaling(1 / 127.5, offset=-1, name="rescale")(x)
    elif prep_name == "vgg16":
        x = custom_layers()["CaffePreprocess"](name="vgg_preprocess")(x)
    base = getattr(keras.applications, app_name)(
        include_top=False, input_shape=(size, size, 3),
        weights=str(weights) if weights not in (None, "imagenet") else weights, **kwargs)
    base.trainable = False
    features = base(x, training=False)  # BN statistics stay frozen, even when fine-tuning
    x = layers.GlobalAveragePooling2D(name="gap")(features)
    outputs = _head(x, n_classes, dropout, l2)
    model = keras.Model(inputs, outputs, name=f"{kind}_transfer")
    return BuiltModel(model, size, prep_name)


def mobilenet_shape(weights: Path | str | None) -> tuple[float, int]:
    """(alpha, input size) from a Keras MobileNetV2 weights file name, e.g. …_0.35_224_…"""
    if weights in (None, "imagenet"):
        return 1.0, 224
    parts = Path(str(weights)).name.replace(".weights", "").replace(".h5", "").split("_")
    numbers = [p for p in parts if p.replace(".", "", 1).isdigit()]
    alpha = next((float(p) for p in numbers if "." in p), 1.0)
    size = next((int(p) for p in numbers if p.isdigit() and int(p) in (96, 128, 160, 192, 224)),
                224)
    return alpha, size


def backbone_of(model):
    """The nested backbone model inside a transfer model (None for the from-scratch CNNs)."""
    import keras

    return next((layer for layer in model.layers if isinstance(layer, keras.Model)), None)


def unfreeze_top(model, n_layers: int) -> int:
    """Make the top ``n_layers`` of the backbone trainable, batch-norm layers excepted (they keep
    their ImageNet statistics: the backbone runs with training=False). Returns how many layers
    became trainable."""
    import keras

    base = backbone_of(model)
    if base is None or n_layers <= 0:
        return 0
    base.trainable = True
    changed = 0
    for i, layer in enumerate(base.layers):
        top = i >= len(base.layers) - n_layers
        layer.trainable = top and not isinstance(layer, keras.layers.BatchNormalization)
        changed += layer.trainable
    return changed


def summary_rows(model, *, arithmetic: bool = False) -> list[tuple]:
    """(layer, type, output shape, parameters) for each top-level layer: the course's
    parameter arithmetic (a 3×3 conv with 32 filters on 3 channels: (3·3·3 + 1)·32 = 896).

    With ``arithmetic`` each row goes on with the output-size formula, the parameter formula
    and the receptive field, all with the numbers in (see visionapp.processors.cnn_layers)."""
    rows = []
    for layer in model.layers:
        try:
            shape = str(tuple(layer.output.shape))
        except (AttributeError, ValueError):
            shape = "?"
        rows.append((layer.name, type(layer).__name__, shape, int(layer.count_params())))
    formulas = summary_formulas(model) if arithmetic else ()
    return [row + f for row, f in zip(rows, formulas, strict=True)] if formulas else rows


def summary_formulas(model) -> tuple[tuple[str, str, str], ...]:
    """Per top-level layer: (output-size formula, parameter formula, receptive field), the
    numbers filled in; () for a model with a layer the arithmetic does not cover."""
    from visionapp.processors.cnn_layers import layer_table

    try:
        return tuple((t.output_formula, t.param_formula, t.receptive_field_formula)
                     for t in layer_table(model))
    except (AttributeError, TypeError, ValueError):
        return ()


def build(kind: str, n_classes: int, *, image_size: int | None = None,
          backbone_weights: Path | str | None = None, dropout: float = 0.3,
          l2: float = 0.0) -> BuiltModel:
    if kind == "course":
        return course_cnn(n_classes, image_size or 64)
    if kind == "better":
        return better_cnn(n_classes, image_size or 96, dropout, l2)
    if kind in BACKBONES:
        return transfer(kind, n_classes, backbone_weights, dropout, l2)
    raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")

"""The classifier's input pipeline, augmentation parameters, mixup and per-kind training recipes
(fast: no training)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training_data import shapes_dataset
from visionapp.training import classifier_recipe as recipe
from visionapp.training.classifier import ClassifierConfig
from visionapp.training.classifier_augment import Augmentation, augmentation, mixup


def test_augmentation_parameters_replay_exactly():
    images = np.random.default_rng(1).integers(0, 256, (6, 40, 48, 3), np.uint8)
    aug = augmentation("standard")
    a = aug(images, rng=np.random.default_rng(7))
    b = aug(images, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    params = aug.sample(6, 40, 48, np.random.default_rng(7))
    np.testing.assert_array_equal(aug.apply(images, params), a)
    assert params.inverse_maps.shape == (6, 2, 3) and a.dtype == np.float32
    # Another draw differs.
    assert not np.array_equal(a, aug(images, rng=np.random.default_rng(8)))


def test_a_mirror_map_is_an_exact_mirror_and_zoom_magnifies_about_the_centre():
    images = np.random.default_rng(2).uniform(0, 255, (1, 16, 20, 3)).astype(np.float32)
    aug = Augmentation(flip=True)
    mirror = aug.sample(1, 16, 20, np.random.default_rng(0))
    mirror.inverse_maps[0] = [[-1, 0, 19], [0, 1, 0]]
    np.testing.assert_array_equal(aug.apply(images, mirror)[0], images[0, :, ::-1])
    # Zoom 0.5 towards the centre: the output's centre pixel is the input's, its corner comes
    # from a quarter of the way in.
    square = np.zeros((1, 21, 21, 3), np.float32)
    square[0, 5, 5] = 255
    zoom = Augmentation(flip=False).sample(1, 21, 21, np.random.default_rng(0))
    zoom.inverse_maps[0] = [[0.5, 0, 5], [0, 0.5, 5]]
    out = Augmentation(flip=False).apply(square, zoom)[0]
    assert out[0, 0, 0] == 255 and out[10, 10, 0] == 0


def test_course_style_is_the_course_notes_settings():
    course = augmentation("course")
    assert (course.flip, course.zoom, course.zoom_aspect, course.shear, course.rotation,
            course.shift, course.fill) == (True, 0.2, True, 0.2, 0.0, 0.0, "nearest")
    maps = course.sample(2000, 64, 64, np.random.default_rng(0)).inverse_maps
    zoom_x, zoom_y = np.abs(maps[:, 0, 0]), maps[:, 1, 1]
    assert 0.8 <= zoom_x.min() < 0.81 and 1.19 < zoom_x.max() <= 1.2
    assert np.corrcoef(zoom_x, zoom_y)[0, 1] < 0.1  # independent on x and y
    assert (maps[:, 0, 0] < 0).mean() == pytest.approx(0.5, abs=0.05)  # flipped half the time


def test_mixup_blends_images_and_targets_by_the_same_weight():
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 255, (64, 4, 4, 3)).astype(np.float32)
    targets = np.eye(64, dtype=np.float32)  # every image its own class: the blend is readable
    mixed, mixed_t = mixup(images, targets, 0.4, np.random.default_rng(5))
    np.testing.assert_allclose(mixed_t.sum(axis=1), 1, atol=1e-6)
    lam = mixed_t[np.arange(64), np.arange(64)]
    assert lam.min() >= 0.5 - 1e-6 and (lam < 0.99).any()  # the image keeps the larger share
    for i in range(64):
        shares = mixed_t[i].copy()
        shares[i] = 0
        j = int(shares.argmax()) if shares.max() > 0 else i
        np.testing.assert_allclose(mixed[i], lam[i] * images[i] + (1 - lam[i]) * images[j],
                                   rtol=1e-5, atol=1e-3)


def test_pipeline_yields_float_images_and_the_kind_of_targets_the_loss_needs(tmp_path):
    from visionapp.training.classifier_data import pipeline, scan

    root = shapes_dataset(tmp_path / "ds", per_class=8, size=40)
    items = scan(root).files["train"]
    x, y = next(iter(pipeline(items, 32, 4, training=False)))
    assert x.dtype.name == "float32" and x.shape == (4, 32, 32, 3) and y.shape == (4,)
    assert float(x.numpy().min()) >= 0 and float(x.numpy().max()) <= 255
    three = [(path, i % 3) for i, (path, _) in enumerate(items)]
    x, y = next(iter(pipeline(three, 32, 4, training=True, augment=augmentation(),
                              n_classes=3, mixup_alpha=0.4)))
    assert x.dtype.name == "float32" and y.shape == (4, 3)
    np.testing.assert_allclose(y.numpy().sum(axis=1), 1, atol=1e-6)
    labels = [label for _, label in three]
    batches = list(pipeline(three, 32, 4, training=False, n_classes=3))
    one_hot = np.concatenate([b[1].numpy() for b in batches])
    np.testing.assert_array_equal(one_hot.argmax(axis=1), labels)  # evaluation keeps order


def test_each_kind_resolves_its_own_recipe_and_explicit_settings_win():
    course = recipe.resolve(ClassifierConfig("d", kind="course"))
    assert (course.epochs, course.learning_rate, course.schedule, course.augmentation,
            course.label_smoothing, course.weight_decay) == (50, 1e-3, "cosine", "course",
                                                              0.0, 0.0)
    better = recipe.resolve(ClassifierConfig("d", kind="better"))
    assert better.schedule == "cosine" and better.label_smoothing > 0 and better.weight_decay > 0
    assert better.warmup_epochs > 0 and better.augmentation == "standard"
    mobile = recipe.resolve(ClassifierConfig("d", kind="mobilenet_v2"))
    assert mobile.fine_tune_layers > 0 and mobile.fine_tune_lr < mobile.learning_rate
    mine = recipe.resolve(ClassifierConfig("d", kind="better", epochs=3, learning_rate=0.01,
                                           label_smoothing=0.0, fine_tune_layers=0,
                                           schedule="plateau"))
    assert (mine.epochs, mine.learning_rate, mine.label_smoothing, mine.schedule) == (
        3, 0.01, 0.0, "plateau")
    assert recipe.resolve(ClassifierConfig("d", kind="mobilenet_v2",
                                           fine_tune_layers=0)).fine_tune_layers == 0
    for kind in recipe.RECIPES:
        resolved = recipe.resolve(ClassifierConfig("d", kind=kind))
        assert resolved.epochs > 0 and resolved.learning_rate > 0
        assert min(resolved.weight_decay, resolved.label_smoothing, resolved.mixup,
                   resolved.warmup_epochs, resolved.fine_tune_layers, resolved.patience) >= 0
        assert "auto" not in (resolved.schedule, resolved.augmentation, resolved.flip_tta)


def test_warm_up_then_cosine_to_zero():
    rate = recipe.learning_rate(2e-3, "cosine", epochs=10, steps=5, warmup_epochs=2)
    lr = [float(rate(step)) for step in range(51)]
    assert lr[0] == pytest.approx(0, abs=1e-9) and lr[10] == pytest.approx(2e-3)
    assert all(a < b for a, b in zip(lr[:10], lr[1:11], strict=True))  # rising
    assert all(a >= b for a, b in zip(lr[10:50], lr[11:51], strict=True))  # then falling
    assert lr[50] == pytest.approx(0, abs=1e-9)
    assert recipe.learning_rate(1e-3, "plateau", 10, 5, 2) == 1e-3  # constant


@pytest.mark.parametrize("kind", ["course", "better", "mobilenet_v2"])
def test_the_cli_with_no_options_trains_the_kinds_recipe(kind, tmp_path, monkeypatch, capsys):
    """What the benchmark measures (ClassifierConfig(kind=K) with the kind's recipe) is what
    ``visionapp train-classifier DATA --kind K`` runs."""
    from visionapp.cli import main
    from visionapp.training import classifier
    from visionapp.training.progress import Finished

    seen = []

    def fake_train(config, stop=None):
        seen.append(config)
        yield Finished(str(tmp_path / "m.keras"), metrics={"accuracy": 1.0})

    monkeypatch.setattr(classifier, "train", fake_train)
    data = str(tmp_path / "photos")
    assert main(["train-classifier", data, "--kind", kind]) == 0
    capsys.readouterr()
    assert recipe.resolve(seen[0]) == recipe.resolve(ClassifierConfig(data, kind=kind))


def test_the_better_cnn_fits_a_small_cpu_budget():
    """Strided stem at 96 px: about 140 M multiply-adds per image (the 64 px four-block VGG it
    replaced: 250 M), so 60 epochs of 1,400 photos train in minutes on 2 cores."""
    import keras

    from visionapp.training.classifier_models import better_cnn

    model = better_cnn(2).model
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs[0].strides == (2, 2) and model.get_layer("resize").output.shape[1] == 96
    macs = sum(int(np.prod(c.kernel.shape)) * c.output.shape[1] * c.output.shape[2]
               for c in convs)
    assert 100e6 < macs < 160e6, macs
    assert model.output.shape[-1] == 1 and better_cnn(5).model.output.shape[-1] == 5


@pytest.mark.parametrize("tta", ["none", "flip"])
def test_the_live_processor_averages_with_the_mirror_image_when_the_card_says_so(
        tta, tmp_path, monkeypatch):
    """A model that scores the left half of an image against its right half: alone it is sure
    of a bright-left image; averaged with the mirror image it can only say 0.5."""
    import json

    import keras

    from visionapp import paths
    from visionapp.core import registry
    from visionapp.core.types import Frame

    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Resizing(8, 8)(inputs)
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(x))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(x))
    left = np.zeros((8, 8, 3), np.float32)
    left[:, :4] = 1.0
    dense.set_weights([(left - left[:, ::-1]).reshape(-1, 1), np.zeros(1, np.float32)])
    model.save(tmp_path / f"halves_{tta}.keras")
    (tmp_path / f"halves_{tta}.json").write_text(json.dumps({
        "class_names": ["right", "left"], "image_size": 8, "test_time_augmentation": tta}))
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, :4] = 255  # bright on the left (BGR or RGB alike)
    result = registry.create("classifier", {"model": f"halves_{tta}.keras"})(
        Frame(image, 0, 0))
    if tta == "flip":
        assert result.values["score"] == pytest.approx(0.5, abs=1e-4)
    else:
        assert result.values["label"] == "left" and result.values["score"] > 0.99


def test_three_classes_train_with_one_hot_targets_label_smoothing_and_mixup(tmp_path,
                                                                           monkeypatch):
    """More than two classes: softmax, one-hot targets (which label smoothing and mixup
    need), categorical accuracy; the run ends with a 3×3 confusion matrix, and the card records
    the resolved recipe and the flip test-time augmentation the live processor will apply."""
    import json

    import cv2

    from visionapp import paths
    from visionapp.training.classifier import train
    from visionapp.training.progress import Epoch, Evaluation, Failed, Finished

    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "models")
    root = shapes_dataset(tmp_path / "ds", per_class=12, size=32)
    (root / "blank").mkdir()
    for i in range(12):
        cv2.imwrite(str(root / "blank" / f"blank_{i}.png"),
                    np.random.default_rng(i).integers(0, 90, (32, 32, 3), np.uint8))
    config = ClassifierConfig(str(root), kind="better", image_size=32, epochs=2, batch=8,
                              label_smoothing=0.1, mixup=0.2, flip_tta="flip", name="three")
    events = list(train(config))
    assert isinstance(events[-1], Finished), [e.message for e in events
                                              if isinstance(e, Failed)]
    (evaluation,) = [e for e in events if isinstance(e, Evaluation)]
    assert evaluation.class_names == ("blank", "circles", "squares")
    assert np.array(evaluation.confusion).shape == (3, 3)
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert len(epochs) == 2 and 0 <= epochs[-1].metrics["val_accuracy"] <= 1
    card = json.loads((tmp_path / "models" / "three.json").read_text())
    assert card["test_time_augmentation"] == "flip" and card["config"]["mixup"] == 0.2
    assert card["config"]["epochs"] == 2 and card["config"]["warmup_epochs"] == 3  # resolved
    assert any("recipe: AdamW" in e.message and "mixup α 0.2" in e.message
               and "label smoothing 0.1" in e.message for e in events)


def test_the_dialogs_augmentation_preview_is_seeded(tmp_path):
    """A row per training image: the image, then its augmented versions (uint8 RGB); the same
    seed draws the same grid, another seed another."""
    from visionapp.training.classifier_data import augmentation_preview, scan

    items = scan(shapes_dataset(tmp_path / "ds", per_class=6, size=40)).files["train"]
    grid = augmentation_preview(items, image_size=32, images=2, variants=4, seed=3)
    assert grid.shape == (2 * 32, 5 * 32, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid, augmentation_preview(items, 32, 2, 4, seed=3))
    assert not np.array_equal(grid, augmentation_preview(items, 32, 2, 4, seed=4))
    originals = grid[:, :32].astype(int)
    assert any(np.abs(grid[:, 32 * k: 32 * (k + 1)].astype(int) - originals).mean() > 1
               for k in range(1, 5))

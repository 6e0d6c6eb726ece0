"""Input pipeline: images/s through training epochs of the course CNN fed by visionapp's
tf.data pipeline (parallel decode + resize, cache, shuffle, batched augmentation layers,
prefetch) vs Keras' ImageDataGenerator.flow_from_directory, both with the course's augmentation
(shear 0.2, zoom 0.2, horizontal flip). Same model architecture, same 1,999 photos, 64×64,
batch 32, side by side in one run. Target: ≥ 3× (epoch 2, once both are warm).

    .venv/bin/python -m benchmarks.classifier_pipeline [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

from benchmarks._common import shared, verdict


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    from visionapp.processors._frameworks import before_tensorflow

    before_tensorflow()
    import keras
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    from visionapp.training import classifier_data as data
    from visionapp.training.classifier_models import course_cnn

    root = shared("data/cats_vs_dogs")
    items = [(str(p), label) for label, name in enumerate(("cats", "dogs"))
             for p in sorted((root / name).iterdir())]

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t0)

    def fit(dataset, steps=None) -> list[float]:
        keras.utils.set_random_seed(0)
        model = course_cnn(2).model
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        timer = Timer()
        timer.seconds = []
        model.fit(dataset, epochs=args.epochs, steps_per_epoch=steps, callbacks=[timer],
                  verbose=0)
        return timer.seconds

    generator = ImageDataGenerator(shear_range=0.2, zoom_range=0.2, horizontal_flip=True)
    flow = generator.flow_from_directory(str(root), target_size=(64, 64), batch_size=32,
                                         class_mode="binary", seed=0)
    legacy = fit(flow, steps=len(flow))
    ours = fit(data.pipeline(items, 64, 32, training=True, augment=data.augmentation("course")))
    # The ceiling: the same model fed cached, un-augmented batches (no input work at all).
    ceiling = fit(data.pipeline(items, 64, 32, training=True, augment=None))
    n = len(items)
    for epoch in range(args.epochs):
        print(f"epoch {epoch + 1}: ImageDataGenerator {n / legacy[epoch]:.0f} images/s, "
              f"tf.data {n / ours[epoch]:.0f} images/s, ratio {legacy[epoch] / ours[epoch]:.1f}x")
    ratio = legacy[-1] / ours[-1]
    print(f"the model alone (cached batches, no augmentation): {n / ceiling[-1]:.0f} images/s, "
          f"so no input pipeline can beat ImageDataGenerator by more than "
          f"{legacy[-1] / ceiling[-1]:.1f}x here")
    print(f"steady-state ratio (epoch {args.epochs}): {ratio:.1f}x (target >= 3x) "
          f"{verdict(ratio >= 3)}")
    return 0 if ratio >= 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Input pipeline: images/s through training epochs of the course CNN fed by visionapp's
tf.data pipeline (parallel decode + resize, cache, shuffle, batched augmentation in one affine
resample, prefetch) vs Keras' ImageDataGenerator.flow_from_directory, both with the course's
augmentation (shear 0.2, zoom 0.2, horizontal flip). Same model architecture, same 1,999 photos,
64×64, batch 32, side by side in one run. Target: ≥ 3× once both are warm (the best of epochs
2…N of each, as the machine is shared and noisy).

It also prints the two pipelines without a model, and the model fed batches that cost nothing:
on a CPU the model's own step bounds what any input pipeline can gain end to end.

    .venv/bin/python -m benchmarks.classifier_pipeline [--epochs 3]
"""

from __future__ import annotations

import argparse
import time

from benchmarks._common import header, shared, target


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    header("classifier_pipeline: tf.data vs ImageDataGenerator")
    from visionapp.core.frameworks import before_tensorflow

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

    def produce(batches, repeats: int = 2) -> float:
        """Images/s of the last of ``repeats`` passes over a pipeline's batches."""
        for _ in range(repeats):
            t0, count = time.perf_counter(), 0
            for x, _ in batches():
                count += len(x)
        return count / (time.perf_counter() - t0)

    generator = ImageDataGenerator(shear_range=0.2, zoom_range=0.2, horizontal_flip=True)
    flow = generator.flow_from_directory(str(root), target_size=(64, 64), batch_size=32,
                                         class_mode="binary", seed=0)
    legacy = fit(flow, steps=len(flow))
    ours = fit(data.pipeline(items, 64, 32, training=True, augment=data.augmentation("course")))
    # The ceiling: the same model fed cached, un-augmented batches (no input work at all).
    ceiling = fit(data.pipeline(items, 64, 32, training=True, augment=None))
    # The pipelines alone, no model: how fast each can deliver augmented batches.
    legacy_alone = produce(lambda: (flow[i] for i in range(len(flow))))
    ours_dataset = data.pipeline(items, 64, 32, training=True,
                                 augment=data.augmentation("course"))
    ours_alone = produce(lambda: iter(ours_dataset))
    n = len(items)
    print(f"input pipeline alone (no model): ImageDataGenerator {legacy_alone:.0f} images/s, "
          f"tf.data {ours_alone:.0f} images/s, ratio {ours_alone / legacy_alone:.1f}x")
    for epoch in range(args.epochs):
        print(f"epoch {epoch + 1}: ImageDataGenerator {n / legacy[epoch]:.0f} images/s, "
              f"tf.data {n / ours[epoch]:.0f} images/s, ratio {legacy[epoch] / ours[epoch]:.1f}x")
    legacy_s, ours_s, ceiling_s = (min(t[1:]) for t in (legacy, ours, ceiling))
    ratio = legacy_s / ours_s
    print(f"the model alone (cached batches, no augmentation): {n / ceiling_s:.0f} images/s, "
          f"so end to end no input pipeline can beat ImageDataGenerator by more than "
          f"{legacy_s / ceiling_s:.1f}x on this machine")
    target("classifier_pipeline.end_to_end", ratio >= 3,
           f"end-to-end ratio (best of epochs 2-{args.epochs}): tf.data {n / ours_s:.0f} vs "
           f"ImageDataGenerator {n / legacy_s:.0f} images/s, {ratio:.1f}x (target >= 3x)")
    return 0 if ratio >= 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())

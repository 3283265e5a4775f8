import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("NNZOO_OFFLINE", "1")  # nothing in the suite downloads (nnzoo._offline)


@pytest.fixture
def traced_train_steps(monkeypatch):
    """A list that gets one item each time TensorFlow traces a model's ``train_step``."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    traced = []
    original = TensorFlowTrainer.train_step

    def counting(self, data):
        traced.append(1)
        return original(self, data)

    monkeypatch.setattr(TensorFlowTrainer, "train_step", counting)
    return traced


def _write_image_folder(root, counts, size, seed):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for label, (name, count) in enumerate(sorted(counts.items())):
        folder = root / name
        folder.mkdir(parents=True)
        colour = np.roll([200, 50, 50], label) if label < 3 else rng.integers(0, 256, 3)
        for i in range(count):
            noise = rng.normal(0, 40, size=(*size, 3))
            pixels = np.clip(colour + noise, 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


@pytest.fixture(scope="session")
def make_image_folder(tmp_path_factory):
    """``make_image_folder(counts, size=(20, 24), seed=0)``: a new folder of ``counts[class]``
    generated images per class sub-folder (a class's own colour on noise: red, green, blue,
    then random; learnable;
    odd ones PNG, even ones JPEG), as ``image_folder`` reads it."""

    def make(counts, *, size=(20, 24), seed=0):
        return _write_image_folder(tmp_path_factory.mktemp("images"), counts, size, seed)

    return make


@pytest.fixture
def image_folder(make_image_folder):
    """A small generated image folder: 3 classes of 14 images, 20 x 24."""
    return make_image_folder({"ants": 14, "bees": 14, "cats": 14})

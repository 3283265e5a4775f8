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

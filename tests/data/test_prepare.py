"""What the sources prepare alike: feature scaling and the image files read from folders."""

from __future__ import annotations

import numpy as np

from nnzoo.data import IMAGE_EXTENSIONS, get_source
from nnzoo.data._prepare import standardize_features


def test_standardize_features_scales_each_column_on_its_own():
    x = np.array([[1.0, 10.0, 5.0], [3.0, 30.0, 5.0]], dtype="float32")
    z = standardize_features(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z, [[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]], atol=1e-6)


def test_tabular_sources_standardize_unless_asked_not_to():
    iris = get_source("iris").loader(seed=0)
    np.testing.assert_allclose(iris.x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(iris.x.std(axis=0), 1.0, atol=1e-5)
    raw = get_source("iris").loader(seed=0, standardize=False)
    np.testing.assert_allclose(raw.x[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
    np.testing.assert_allclose(standardize_features(raw.x), iris.x)


def test_image_extensions_are_those_keras_reads_from_a_folder():
    from keras.src.utils.image_dataset_utils import ALLOWLIST_FORMATS

    assert IMAGE_EXTENSIONS == ALLOWLIST_FORMATS == (".bmp", ".gif", ".jpeg", ".jpg", ".png")

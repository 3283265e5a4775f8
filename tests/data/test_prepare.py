"""What the sources prepare alike: feature scaling and the image files read from folders."""

from __future__ import annotations

import numpy as np

from nnzoo.data import IMAGE_EXTENSIONS, get_source


def test_csv_standardizes_each_column_on_its_own(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,label\n1,10,5,x\n3,30,5,y\n")
    data = get_source("csv").loader(seed=0, path=str(path))
    assert data.x.dtype == np.float32
    np.testing.assert_allclose(data.x, [[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]], atol=1e-6)


def test_tabular_sources_standardize_unless_asked_not_to():
    iris = get_source("iris").loader(seed=0)
    np.testing.assert_allclose(iris.x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(iris.x.std(axis=0), 1.0, atol=1e-5)
    raw = get_source("iris").loader(seed=0, standardize=False).x
    np.testing.assert_allclose(raw[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
    np.testing.assert_allclose((raw - raw.mean(axis=0)) / raw.std(axis=0), iris.x, atol=1e-5)


def test_image_extensions_are_those_keras_reads_from_a_folder():
    from keras.src.utils.image_dataset_utils import ALLOWLIST_FORMATS

    assert IMAGE_EXTENSIONS == ALLOWLIST_FORMATS == (".bmp", ".gif", ".jpeg", ".jpg", ".png")

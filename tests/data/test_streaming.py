"""Streaming images: ``image_folder`` lists its files and the pipeline reads them while it runs,
with the one decoder, into the arrays and the split the in-memory source gave, and
``data.cache`` keeps what it decoded in memory or in a cache file, filled as it reads."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnzoo.data import ImageFiles, _prepare, get_source, load_data
from nnzoo.data import pipeline as pipeline_module
from nnzoo.data.pipeline import make_dataset

SIZE = [12, 10]


@pytest.fixture
def decoded(monkeypatch):
    """The files the decoder is called on, in call order."""
    calls = []
    real = _prepare.decode_image

    def counting(file, *args, **kwargs):
        calls.append(str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(_prepare, "decode_image", counting)
    return calls


def todays_reader(files, size):
    """How image_folder read a folder before it streamed: every file, whole, at load time."""
    x = [
        keras.utils.img_to_array(
            keras.utils.load_img(f, target_size=size, interpolation="bilinear")
        )
        for f in files
    ]
    return np.stack(x) / 255.0


def batches(ds, count=None):
    """``(x, y)`` batches of a tf.data dataset or a PyDataset, as NumPy."""
    if hasattr(ds, "take"):
        items = ds if count is None else ds.take(count)
        return [tuple(np.asarray(t) for t in b) for b in items]
    return [ds[i] for i in range(count if count is not None else ds.num_batches)]


def test_image_folder_lists_files_that_read_as_todays_arrays(image_folder, decoded):
    data = get_source("image_folder").loader(seed=0, path=str(image_folder), image_size=SIZE)
    assert isinstance(data.x, ImageFiles) and data.x.shape == (42, 12, 10, 3)
    assert decoded == []  # listed, nothing read
    with pytest.raises(TypeError, match="streams its images"):
        np.asarray(data.x)
    np.testing.assert_array_equal(data.x.read(), todays_reader(data.x.paths, SIZE))
    assert data.x.read().dtype == np.float32


def test_a_16_bit_grayscale_image_reads_in_0_1(tmp_path):
    """8-bit images read as before; a 16-bit one is scaled to 8 bits, not wrapped (it read
    as 0..257 before the decoder returned 8-bit pixels)."""
    from PIL import Image

    ramp = (np.arange(16 * 16).reshape(16, 16) * 257).astype("uint16")  # 0 .. 65535
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    pixels = _prepare.decode_image(tmp_path / "deep.png", (16, 16), "grayscale")
    assert pixels.dtype == np.uint8 and pixels.shape == (16, 16, 1)
    np.testing.assert_array_equal(pixels[..., 0], np.arange(256).reshape(16, 16))


def test_the_split_over_the_listing_is_the_split_over_the_arrays(image_folder, tmp_path):
    """The same seed draws the same stratified indices: streamed splits read as the arrays
    that the same images held in memory (an .npz of them) split into."""
    params = {"path": str(image_folder), "image_size": SIZE}
    streamed = load_data("image_folder", params=params, seed=7)
    whole = get_source("image_folder").loader(seed=7, **params)
    pixels = np.round(whole.x.read() * 255).astype("uint8")
    np.savez(tmp_path / "same.npz", x=pixels, y=whole.y)
    held = load_data("npz", params={"path": str(tmp_path / "same.npz")}, seed=7)
    for part in ("train", "validation", "test"):
        (xs, ys), (xh, yh) = getattr(streamed, part), getattr(held, part)
        assert isinstance(xs, ImageFiles)
        np.testing.assert_array_equal(xs.read(), xh)
        np.testing.assert_array_equal(ys, yh)
    assert [len(getattr(streamed, p)[0]) for p in ("train", "validation", "test")] == [29, 4, 9]


@pytest.mark.parametrize("cache", [False, True, "disk"])
def test_a_listing_streams_the_batches_of_its_arrays(
    image_folder, tmp_path, monkeypatch, decoded, cache
):
    """Training stream (two passes, each in its own order), a stream resumed inside a pass,
    and an evaluation pass: batch for batch the arrays' batches, whatever the cache."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    splits = load_data("image_folder", params={"path": str(image_folder), "image_size": SIZE})
    files, y = splits.train
    x = files.read()
    decoded.clear()

    def stream(examples, start_step, count):
        ds = make_dataset(
            examples, y, batch_size=8, training=True, seed=3, start_step=start_step, cache=cache
        )
        return batches(ds, count)

    arrays = stream(x, 0, 10)  # 4 batches a pass: 8, 8, 8, 5
    assert [len(b[1]) for b in arrays] == [8, 8, 8, 5] * 2 + [8, 8]
    assert decoded == []  # building a pipeline reads nothing
    for got, want in zip(stream(files, 0, 10), arrays, strict=True):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    for got, want in zip(stream(files, 6, 4), arrays[6:], strict=True):
        np.testing.assert_array_equal(got[0], want[0])
    ds = make_dataset(files, y, batch_size=8, training=False, cache=cache)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches(ds)]), x)


def test_each_worker_decodes_its_own_batches_of_the_training_stream(image_folder, decoded):
    """Under a multi-worker strategy (``shard=(worker, workers)``) worker i's stream is batches
    i, i + n, ... of the one stream (resumed or not, across passes): together the workers read
    each pass once, each its own files, and tf.distribute is told not to shard them again."""
    import tensorflow as tf

    splits = load_data("image_folder", params={"path": str(image_folder), "image_size": SIZE})
    files, y = splits.train

    def stream(start_step, count, shard=None):
        ds = make_dataset(
            files,
            y,
            batch_size=8,
            training=True,
            seed=3,
            start_step=start_step,
            cache=False,
            shard=shard,
        )
        return ds, batches(ds, count)

    _, whole = stream(3, 12)  # 4 batches a pass: from the last batch of pass 0 into pass 3
    decoded.clear()
    workers = [stream(3, 4, shard=(i, 3)) for i in range(3)]
    off = tf.data.experimental.AutoShardPolicy.OFF
    for i, (ds, got) in enumerate(workers):
        assert ds.options().experimental_distribute.auto_shard_policy == off
        for k, batch in enumerate(got):
            np.testing.assert_array_equal(batch[0], whole[i + 3 * k][0])
            np.testing.assert_array_equal(batch[1], whole[i + 3 * k][1])
    # 12 batches read by 3 workers. Sharded after reading (tf.distribute's DATA policy), each
    # worker would decode all 12: 3x the one stream's files at least. Sharded before, they
    # decode the one stream's files plus what tf.data reads ahead (its depth is AUTOTUNE's:
    # 58 extra files on an idle 2-core machine), far below that.
    one_stream = sum(len(b[1]) for b in whole)
    assert one_stream <= len(decoded) < 3 * one_stream
    single, _ = stream(0, 0, shard=(0, 1))
    assert single.options().experimental_distribute.auto_shard_policy != off


def test_memory_cache_decodes_each_file_once_up_to_its_budget(image_folder, decoded, monkeypatch):
    splits = load_data("image_folder", params={"path": str(image_folder), "image_size": SIZE})
    files, y = splits.train
    ds = make_dataset(files, y, batch_size=8, training=True, seed=0, start_step=0, cache=True)
    batches(ds, 4 * 3)  # three passes
    assert sorted(decoded) == sorted(files.paths)  # once each
    decoded.clear()
    monkeypatch.setattr(pipeline_module, "MEMORY_CACHE_BYTES", files.row_bytes * 10)
    ds = make_dataset(files, y, batch_size=8, training=True, seed=0, start_step=0, cache=True)
    batches(ds, 4 * 2)  # too large to keep: read every pass
    assert all(decoded.count(path) >= 2 for path in files.paths)


def test_disk_cache_is_one_file_per_data_fingerprint(image_folder, tmp_path, monkeypatch, decoded):
    """``data.cache: disk``: the first pass fills a file named by the files' fingerprint;
    later pipelines (another run) read it and decode nothing; a changed file is a new key."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    params = {"path": str(image_folder), "image_size": SIZE}
    files, y = load_data("image_folder", params=params).train
    x = files.read()
    decoded.clear()
    first = batches(make_dataset(files, y, batch_size=8, training=False, cache="disk"))
    assert len(decoded) == len(files)
    (cached,) = (tmp_path / "keras" / "nnzoo-decoded").iterdir()  # no partial file left
    assert cached.name == f"{files.fingerprint()[:32]}.u8"
    assert cached.stat().st_size == x.size  # uint8 rows
    decoded.clear()
    again = batches(make_dataset(files, y, batch_size=8, training=True, seed=1, cache="disk"))
    assert decoded == []
    np.testing.assert_array_equal(np.concatenate([b[0] for b in first]), x)
    assert sorted(np.concatenate([b[1] for b in again]).tolist()) == sorted(y.tolist())

    changed = image_folder / "ants" / "0.jpg"
    changed.write_bytes((image_folder / "ants" / "2.jpg").read_bytes())
    files, y = load_data("image_folder", params=params).train
    batches(make_dataset(files, y, batch_size=8, training=False, cache="disk"))
    assert len(decoded) == len(files)
    assert len(list((tmp_path / "keras" / "nnzoo-decoded").iterdir())) == 2


def test_without_tensorflow_a_listing_is_a_py_dataset_with_workers(image_folder, monkeypatch):
    """The JAX / PyTorch path: a ``PyDataset`` whose worker threads read the same batches."""
    monkeypatch.setattr(pipeline_module, "backend", lambda: "jax")
    files, y = load_data(
        "image_folder", params={"path": str(image_folder), "image_size": SIZE}
    ).train
    ds = make_dataset(files, y, batch_size=8, training=True, seed=3, start_step=0)
    assert isinstance(ds, keras.utils.PyDataset) and ds.workers == pipeline_module.FILE_WORKERS
    x = files.read()
    arrays = make_dataset(x, y, batch_size=8, training=True, seed=3, start_step=0)
    for i in range(8):
        np.testing.assert_array_equal(ds[i][0], arrays[i][0])
        np.testing.assert_array_equal(ds[i][1], arrays[i][1])

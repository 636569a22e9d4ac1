"""The dense CRF: a noisy unary snapped to the colour edge, marginals, the labels that take part, sparse stores.

The first two run on both backends (pydensecrf, and torch on the CPU).
"""

import numpy as np
import pytest
import torch

from wsss_core.crf import CrfParams, crf_foreground, crf_labels, dense_crf
from wsss_core.data.dataset import load_index
from wsss_core.io import read_label_map, read_rgb
from wsss_core.store import read_store, write_store


def _two_colour_image(size: int = 48, edge: int = 20) -> np.ndarray:
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[:, :edge] = (200, 40, 40)
    image[:, edge:] = (40, 40, 200)
    return image


BACKENDS = pytest.mark.parametrize("device", [None, torch.device("cpu")], ids=["pydensecrf", "torch"])


@BACKENDS
def test_noisy_unary_snaps_to_the_colour_edge(device):
    rng = np.random.default_rng(0)
    image = _two_colour_image()
    truth = np.zeros((48, 48), dtype=np.uint8)
    truth[:, 20:] = 1
    # a blurred, shifted and noisy foreground belief: the edge is put at column 26
    columns = np.arange(48)
    ramp = 1.0 / (1.0 + np.exp(-(columns - 26) / 3.0))
    fg_prob = np.clip(np.tile(ramp, (48, 1)) + rng.normal(0.0, 0.25, (48, 48)), 0.02, 0.98)
    before = (fg_prob > 0.5).astype(np.uint8)
    after = crf_foreground(image, fg_prob, CrfParams(iterations=10, bilateral_sxy=30, bilateral_srgb=13), device)
    assert (before != truth).mean() > 0.1
    assert (after != truth).mean() < 0.01


@BACKENDS
def test_marginals_are_distributions_over_labels(device):
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=(16, 16)).transpose(2, 0, 1)
    marginals = dense_crf(_two_colour_image(16, 8), probs, CrfParams(iterations=3), device)
    assert marginals.shape == (3, 16, 16)
    np.testing.assert_allclose(marginals.sum(axis=0), 1.0, atol=1e-4)


def test_torch_backend_agrees_with_pydensecrf_on_generated_photos(tiny_dataset):
    """CRF_d of a blurred, noisy foreground belief on textured generated images: >= 99 % of pixels alike."""
    index, rng = load_index(tiny_dataset), np.random.default_rng(4)
    alike, changed = [], []
    for image_id in index.ids("train")[:6]:
        image = read_rgb(index.image_path(image_id))
        truth = (read_label_map(index.mask_path(image_id)) > 0).astype(np.float32)
        belief = np.clip(0.5 * truth + 0.25 + rng.normal(0.0, 0.2, truth.shape), 0.0, 1.0)
        reference = crf_foreground(image, belief, CrfParams())
        alike.append((crf_foreground(image, belief, CrfParams(), torch.device("cpu")) == reference).mean())
        changed.append((reference != (belief > 0.5)).mean())
    assert np.mean(alike) >= 0.99
    assert np.mean(changed) > 0.02  # the CRF did change the thresholded belief, so agreeing is not trivial


def _three_class_probs() -> np.ndarray:
    """(21,48,48): background left, class 3 right, class 7 faint (at most 0.05), the others near zero."""
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 0.3, (21, 48, 48)) - 6.0
    logits[0, :, :20], logits[3, :, 20:], logits[7] = 2.0, 2.0, -2.5
    probs = np.exp(logits)
    return (probs / probs.sum(axis=0, keepdims=True)).astype(np.float32)


def test_labels_below_epsilon_take_no_part_and_win_no_pixel():
    probs, params = _three_class_probs(), CrfParams(iterations=5)
    assert probs[7].max() < 0.1 < probs[3].max()
    labels = crf_labels(_two_colour_image(), probs, params, label_epsilon=0.1)
    assert set(np.unique(labels)) == {0, 3}
    assert (labels == crf_labels(_two_colour_image(), probs, params, label_epsilon=0.0)).mean() > 0.99


def test_a_sparse_store_gives_the_crf_the_same_labels(tmp_path):
    """Storing only the channels above the CRF's epsilon changes none of its label maps."""
    probs, params, image = _three_class_probs(), CrfParams(iterations=5), _two_colour_image()
    above = np.flatnonzero(probs.reshape(len(probs), -1).max(axis=1) > 0.1)
    for epsilon, channels in ((0.0, {}), (0.1, {"seg_ms": above})):
        with write_store(tmp_path / f"{epsilon}.h5") as store:
            store.add("a", {"seg_ms": probs}, channels=channels)
    with read_store(tmp_path / "0.0.h5") as dense, read_store(tmp_path / "0.1.h5") as sparse:
        full, kept = dense.read("a", "seg_ms")["seg_ms"], sparse.read("a", "seg_ms")["seg_ms"]
    assert kept.shape == full.shape == probs.shape
    assert (tmp_path / "0.1.h5").stat().st_size < (tmp_path / "0.0.h5").stat().st_size / 2
    np.testing.assert_array_equal(kept[[0, 3]], full[[0, 3]])
    assert not kept[7].any()
    np.testing.assert_array_equal(
        crf_labels(image, kept, params, label_epsilon=0.1), crf_labels(image, full, params, label_epsilon=0.1)
    )


def _nearly_flat_probs() -> np.ndarray:
    """(21,48,48): a softmax of an early checkpoint, every label below 0.1; class 3 wins the right side, 0 the left."""
    logits = np.zeros((21, 48, 48), dtype=np.float32)
    logits[0, :, :20], logits[3, :, 20:] = 0.4, 0.4
    probs = np.exp(logits)
    return probs / probs.sum(axis=0, keepdims=True)


def test_a_nearly_flat_map_keeps_the_labels_that_win_a_pixel():
    """No label above epsilon anywhere (the crash of a short run's post-processing): the argmax labels take part."""
    probs = _nearly_flat_probs()
    assert probs.max() < 0.1
    labels = crf_labels(_two_colour_image(), probs, CrfParams(iterations=5), label_epsilon=0.1)
    assert set(np.unique(labels)) == {0, 3}
    assert (labels[:, :20] == 0).all() and (labels[:, 20:] == 3).all()


def test_the_prediction_store_keeps_the_channels_the_crf_uses_on_a_nearly_flat_map(tmp_path):
    """predict's channel selection and crf_labels agree: the sparse store of a flat map gives the same labels."""
    from wsss_core.inference.predict import device_outputs

    probs, params, image = _nearly_flat_probs(), CrfParams(iterations=5), _two_colour_image()
    _, above, _ = device_outputs({"seg_ms": torch.from_numpy(probs)[None]}, ["seg_ms"], [], 0.1)
    channels = np.flatnonzero(above["seg_ms"][0].numpy())
    assert channels.tolist() == [0, 3]
    with write_store(tmp_path / "sparse.h5") as store:
        store.add("a", {"seg_ms": probs.astype(np.float16)}, channels={"seg_ms": channels})
    with read_store(tmp_path / "sparse.h5") as sparse:
        kept = sparse.read("a", "seg_ms")["seg_ms"]
    np.testing.assert_array_equal(
        crf_labels(image, kept, params, label_epsilon=0.1), crf_labels(image, probs, params, label_epsilon=0.1)
    )

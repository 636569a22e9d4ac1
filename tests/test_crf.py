"""The dense CRF snaps a noisy unary to the colour edge of a two-colour image."""

import numpy as np

from wsss_core.crf import CrfParams, crf_foreground, dense_crf


def _two_colour_image(size: int = 48, edge: int = 20) -> np.ndarray:
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[:, :edge] = (200, 40, 40)
    image[:, edge:] = (40, 40, 200)
    return image


def test_noisy_unary_snaps_to_the_colour_edge():
    rng = np.random.default_rng(0)
    image = _two_colour_image()
    truth = np.zeros((48, 48), dtype=np.uint8)
    truth[:, 20:] = 1
    # a blurred, shifted and noisy foreground belief: the edge is put at column 26
    columns = np.arange(48)
    ramp = 1.0 / (1.0 + np.exp(-(columns - 26) / 3.0))
    fg_prob = np.clip(np.tile(ramp, (48, 1)) + rng.normal(0.0, 0.25, (48, 48)), 0.02, 0.98)
    before = (fg_prob > 0.5).astype(np.uint8)
    after = crf_foreground(image, fg_prob, CrfParams(iterations=10, bilateral_sxy=30, bilateral_srgb=13))
    assert (before != truth).mean() > 0.1
    assert (after != truth).mean() < 0.01


def test_marginals_are_distributions_over_labels():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=(16, 16)).transpose(2, 0, 1)
    marginals = dense_crf(_two_colour_image(16, 8), probs, CrfParams(iterations=3))
    assert marginals.shape == (3, 16, 16)
    np.testing.assert_allclose(marginals.sum(axis=0), 1.0, atol=1e-4)

"""Property-based tests (hypothesis) of every per-image function on degenerate maps.

Each function is driven with flat, one-hot, all-ignore, single-class,
single-pixel, tiny and extreme-aspect maps, and with images without any class
label; each test states what must hold for every one of them (shapes, the
labels that may appear, where a label is forced). Examples are drawn from a
fixed seed (``derandomize``), so the suite is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsss_core.crf import CrfParams, crf_labels, labels_taking_part
from wsss_core.ctlr.ca_labels import class_agnostic_labels
from wsss_core.ctlr.cams import pcam, scam
from wsss_core.ctlr.initial_labels import fuse_initial_labels
from wsss_core.ctlr.refine import binarize_segmentation, refine_image_labels, suppress_by_image_labels
from wsss_core.evaluate.metrics import confusion_matrix, scores
from wsss_core.io import IGNORE_LABEL
from wsss_core.sonet.labels import box_labels, cam_objectness_labels, inner_box

NUM_CLASSES = 20  # PASCAL VOC: labels 0..20
FAST = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
CRF = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
CRF_PARAMS = CrfParams(iterations=3)

# (H, W): single pixels, tiny maps and extreme aspect ratios
SHAPES = st.one_of(
    st.sampled_from([(1, 1), (1, 2), (2, 1), (1, 48), (48, 1), (2, 40), (40, 3)]),
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
)
# present classes: none (an image without any class label), one, or several
PRESENT = st.lists(st.integers(1, NUM_CLASSES), min_size=0, max_size=4, unique=True).map(sorted)


@st.composite
def unit_maps(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    """A map in [0, 1] of ``shape``: flat (0, 1 or any constant), a single hot pixel, binary, or random."""
    kind = draw(st.sampled_from(["flat", "one_hot", "binary", "random"]))
    size = int(np.prod(shape))
    if kind == "flat":
        return np.full(shape, draw(st.sampled_from([0.0, 0.5, 1.0, draw(st.floats(0, 1))])), dtype=np.float32)
    if kind == "one_hot":
        values = np.zeros(size, dtype=np.float32)
        values[draw(st.integers(0, size - 1))] = 1.0
        return values.reshape(shape)
    seed = draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).random(shape, dtype=np.float32)
    return (values > 0.5).astype(np.float32) if kind == "binary" else values


@st.composite
def distributions(draw: st.DrawFn, labels: int, shape: tuple[int, int]) -> np.ndarray:
    """(labels, H, W) probabilities summing to 1 per pixel: flat, one-hot, one label everywhere, all zero, or random."""
    kind = draw(st.sampled_from(["flat", "one_hot", "single_label", "zeros", "nearly_flat", "random"]))
    if kind == "flat":
        return np.full((labels, *shape), 1.0 / labels, dtype=np.float32)
    if kind == "zeros":  # what a sparse store returns for an image none of whose channels was stored
        return np.zeros((labels, *shape), dtype=np.float32)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind in ("one_hot", "single_label"):
        winner = rng.integers(0, labels, shape) if kind == "one_hot" else np.full(shape, draw(st.integers(0, labels - 1)))
        return (np.arange(labels)[:, None, None] == winner[None]).astype(np.float32)
    logits = rng.normal(0.0, 0.05 if kind == "nearly_flat" else 3.0, (labels, *shape))
    probs = np.exp(logits - logits.max(axis=0))
    return (probs / probs.sum(axis=0)).astype(np.float32)


def images(shape: tuple[int, int]) -> st.SearchStrategy[np.ndarray]:
    """RGB uint8 images of ``shape``: one colour, or noise."""
    flat = st.integers(0, 255).map(lambda v: np.full((*shape, 3), v, dtype=np.uint8))
    noise = st.integers(0, 2**16).map(lambda s: np.random.default_rng(s).integers(0, 256, (*shape, 3), dtype=np.uint8))
    return st.one_of(flat, noise)


def _allowed(values: np.ndarray, allowed: set[int]) -> bool:
    return set(np.unique(values).tolist()) <= allowed


# ---------------------------------------------------------------------------- CTLR


@FAST
@given(data=st.data(), shape=SHAPES, present=PRESENT, thresholds=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_initial_fusion_labels_agreement_and_ignores_conflicts(data, shape, present, thresholds):
    """Sec. 3.4.1: both regions -> a present class, exactly one -> 255, neither -> 0."""
    cam_maps = np.stack([data.draw(unit_maps(shape)) for _ in present]) if present else np.zeros((0, *shape), np.float32)
    foreground = data.draw(unit_maps(shape))
    cam_threshold, fg_threshold = thresholds
    labels = fuse_initial_labels(cam_maps, present, foreground, cam_fg_threshold=cam_threshold, fg_threshold=fg_threshold)
    assert labels.shape == shape and labels.dtype == np.uint8
    cam_fg = cam_maps.max(axis=0) > cam_threshold if present else np.zeros(shape, bool)
    map_fg = foreground > fg_threshold
    assert np.all(labels[cam_fg & map_fg] != 0) and np.all(labels[cam_fg & map_fg] != IGNORE_LABEL)
    assert np.all(labels[cam_fg ^ map_fg] == IGNORE_LABEL)
    assert np.all(labels[~cam_fg & ~map_fg] == 0)
    assert _allowed(labels, {0, IGNORE_LABEL, *present})


@CRF
@given(data=st.data(), shape=SHAPES)
def test_eq4_class_agnostic_labels_are_binary_and_follow_agreeing_certain_maps(data, shape):
    """Eq. 4: CRF_d((Pr_ca + Pt_sal) / 2) is a 0/1 mask; where both maps are certain everywhere it is their value."""
    image = data.draw(images(shape))
    ca_prob, prior = data.draw(unit_maps(shape)), data.draw(unit_maps(shape))
    mask = class_agnostic_labels(image, ca_prob, prior, CRF_PARAMS)
    assert mask.shape == shape and mask.dtype == np.uint8 and _allowed(mask, {0, 1})
    value = data.draw(st.sampled_from([0.0, 1.0]))
    certain = np.full(shape, value, dtype=np.float32)
    assert np.all(class_agnostic_labels(image, certain, certain, CRF_PARAMS) == value)


@FAST
@given(data=st.data(), shape=SHAPES, present=PRESENT)
def test_eq6_suppression_and_binarisation_keep_only_the_image_labels(data, shape, present):
    """Supp(.) zeroes the absent classes; Br_s marks a pixel only where a present class wins it."""
    seg_probs = data.draw(distributions(NUM_CLASSES + 1, shape))
    suppressed = suppress_by_image_labels(seg_probs, present)
    absent = [c for c in range(1, NUM_CLASSES + 1) if c not in present]
    assert not suppressed[absent].any()
    np.testing.assert_array_equal(suppressed[[0, *present]], seg_probs[[0, *present]])
    binary = binarize_segmentation(seg_probs, present)
    assert binary.shape == shape and _allowed(binary, {0, 1})
    if not present:
        assert not binary.any()


@CRF
@given(data=st.data(), shape=SHAPES, present=PRESENT, threshold=st.floats(0, 1))
def test_eq5_7_ctlr_gives_a_binary_g_ca_ref_and_g_seg_ref_of_the_image_labels(data, shape, present, threshold):
    """Eq. 5-7: G_ca^ref in {0, 1}; G_seg^ref in {0, 255} and the present classes; background where neither claims."""
    image = data.draw(images(shape))
    seg_probs = data.draw(distributions(NUM_CLASSES + 1, shape))
    ca_prob = data.draw(unit_maps(shape))
    pcam_maps = np.stack([data.draw(unit_maps(shape)) for _ in present]) if present else np.zeros((0, *shape), np.float32)
    ca_ref, seg_ref = refine_image_labels(
        image, seg_probs, ca_prob, pcam_maps, present, crf=CRF_PARAMS, pcam_fg_threshold=threshold
    )
    assert ca_ref.shape == seg_ref.shape == shape
    assert _allowed(ca_ref, {0, 1}) and _allowed(seg_ref, {0, IGNORE_LABEL, *present})
    cam_fg = pcam_maps.max(axis=0) > threshold if present else np.zeros(shape, bool)
    assert np.all(seg_ref[(ca_ref == 0) & ~cam_fg] == 0)
    assert np.all(seg_ref[(ca_ref == 1) != cam_fg] == IGNORE_LABEL)


@FAST
@given(shape=SHAPES, classes=st.integers(1, 4), scale=st.sampled_from([1e-6, 1.0, 30.0, 1e4]), seed=st.integers(0, 2**16))
def test_eq2_3_scam_and_pcam_stay_finite_and_normalised_for_extreme_cams(shape, classes, scale, seed):
    """sCAM in [0, 1] with a peak of 1 (or all 0 where the CAM is nowhere positive); pCAM sums to 1 over classes."""
    cam = torch.from_numpy(np.random.default_rng(seed).normal(0.0, scale, (1, classes, *shape)))
    if seed % 3 == 0:
        cam[:, 0] = -scale  # a class whose CAM is nowhere positive
    s, p = scam(cam), pcam(cam)
    assert torch.isfinite(s).all() and torch.isfinite(p).all()
    assert (s >= 0).all() and (s <= 1 + 1e-6).all()
    peaks, cam_peaks = s.amax(dim=(-2, -1)), cam.amax(dim=(-2, -1))
    assert torch.all(peaks[cam_peaks <= 0] == 0)
    assert torch.all((peaks[cam_peaks >= 1e-4] - 1).abs() < 1e-6)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(1, *shape, dtype=p.dtype))


# ---------------------------------------------------------------------------- SONet


@FAST
@given(data=st.data(), shape=SHAPES, present=PRESENT, delta=st.floats(0, 1), with_objectness=st.booleans())
def test_sonet_eq2_labels_are_present_classes_inside_objectness(data, shape, present, delta, with_objectness):
    """Eq. 2: G^Cm holds only 0 and the present classes, and 0 wherever O <= its threshold; none for an unlabelled image."""
    cam_maps = np.stack([data.draw(unit_maps(shape)) for _ in present]) if present else np.zeros((0, *shape), np.float32)
    objectness = data.draw(unit_maps(shape)) if with_objectness else None
    labels = cam_objectness_labels(cam_maps, present, objectness, delta=delta, objectness_threshold=0.5)
    assert labels.shape == shape and _allowed(labels, {0, *present})
    if objectness is not None:
        assert np.all(labels[objectness <= 0.5] == 0)
    if not present:
        assert not labels.any()


@st.composite
def boxes(draw: st.DrawFn, shape: tuple[int, int]) -> list[tuple[int, int, int, int, int]]:
    """0-4 boxes (class, x0, y0, x1, y1), inside, across or wholly outside the image, nested or identical."""
    height, width = shape
    drawn = []
    for _ in range(draw(st.integers(0, 4))):
        x0, y0 = draw(st.integers(-3, width + 2)), draw(st.integers(-3, height + 2))
        drawn.append((draw(st.integers(1, NUM_CLASSES)), x0, y0, x0 + draw(st.integers(1, width + 3)), y0 + draw(st.integers(1, height + 3))))
    if drawn and draw(st.booleans()):
        drawn.append(drawn[0])  # the same box twice
    return drawn


@FAST
@given(data=st.data(), shape=SHAPES, ignore=st.booleans(), alpha=st.floats(0, 1), with_objectness=st.booleans())
def test_sonet_eq3_box_labels_stay_inside_their_boxes(data, shape, ignore, alpha, with_objectness):
    """Eq. 3: classes only inside their boxes, 0 outside every box, 255 only with the ignore strategy, 0 where O says stuff."""
    drawn = data.draw(boxes(shape))
    objectness = data.draw(unit_maps(shape)) if with_objectness else None
    labels = box_labels(drawn, shape, objectness, ignore=ignore, objectness_threshold=0.5, alpha=alpha, inner_fraction=0.6)
    assert labels.shape == shape and labels.dtype == np.uint8
    inside = np.zeros(shape, bool)
    for cls, x0, y0, x1, y1 in drawn:
        inside[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
        assert np.all(np.isin(labels[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)], [0, IGNORE_LABEL, *(b[0] for b in drawn)]))
    assert np.all(labels[~inside] == 0)
    assert _allowed(labels, {0, *(b[0] for b in drawn)} | ({IGNORE_LABEL} if ignore else set()))
    if objectness is not None:
        assert np.all(labels[objectness <= 0.5] == 0)


@FAST
@given(x0=st.integers(-5, 20), y0=st.integers(-5, 20), width=st.integers(1, 40), height=st.integers(1, 40), fraction=st.floats(0.01, 1.0))
def test_inner_box_is_a_non_empty_box_inside_its_box(x0, y0, width, height, fraction):
    ix0, iy0, ix1, iy1 = inner_box(x0, y0, x0 + width, y0 + height, fraction)
    assert x0 <= ix0 < ix1 <= x0 + width and y0 <= iy0 < iy1 <= y0 + height


# ---------------------------------------------------------------------------- CRF


@CRF
@given(data=st.data(), shape=SHAPES, labels=st.sampled_from([1, 2, 3, NUM_CLASSES + 1]), epsilon=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_crf_labels_never_crash_and_use_only_the_labels_taking_part(data, shape, labels, epsilon):
    """The CRF's labels are those above epsilon somewhere or winning a pixel: never none, whatever the map."""
    probs = data.draw(distributions(labels, shape))
    taking_part = labels_taking_part(torch.from_numpy(probs), epsilon).numpy()
    assert taking_part.any()
    assert np.all(taking_part[np.unique(probs.argmax(axis=0))])
    result = crf_labels(data.draw(images(shape)), probs, CRF_PARAMS, label_epsilon=epsilon)
    assert result.shape == shape and result.dtype == np.uint8
    assert _allowed(result, set(np.flatnonzero(taking_part).tolist()))


@pytest.mark.parametrize("labels", [2, NUM_CLASSES + 1])
def test_labels_taking_part_batched_equals_per_image(labels):
    """The (B, L) selection of a batch (the stored channels) is each image's own selection."""
    rng = np.random.default_rng(0)
    batch = torch.from_numpy(rng.dirichlet(np.ones(labels), size=(3, 5, 7)).transpose(0, 3, 1, 2).astype(np.float32))
    batch[1] = 1.0 / labels  # flat
    together = labels_taking_part(batch, 0.1)
    assert torch.equal(together, torch.stack([labels_taking_part(image, 0.1) for image in batch]))


# ---------------------------------------------------------------------------- metrics


@st.composite
def label_maps(draw: st.DrawFn, shape: tuple[int, int], num_labels: int, ignore: bool) -> np.ndarray:
    """Label maps: all one label, all 255, or random labels with some 255."""
    kind = draw(st.sampled_from(["single", "all_ignore", "random"] if ignore else ["single", "random"]))
    if kind == "single":
        return np.full(shape, draw(st.integers(0, num_labels - 1)), dtype=np.uint8)
    if kind == "all_ignore":
        return np.full(shape, IGNORE_LABEL, dtype=np.uint8)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = rng.integers(0, num_labels, shape).astype(np.uint8)
    values[rng.random(shape) < 0.2] = IGNORE_LABEL
    return values


@FAST
@given(data=st.data(), shape=SHAPES, num_labels=st.integers(1, NUM_CLASSES + 1))
def test_metrics_count_every_scored_pixel_and_stay_in_range(data, shape, num_labels):
    """Confusion counts = the non-ignored ground-truth pixels; IoU, F1, coverage in [0, 1] or NaN where nothing is scored."""
    truth = data.draw(label_maps(shape, num_labels, ignore=True))
    prediction = data.draw(label_maps(shape, num_labels, ignore=True))
    confusion = confusion_matrix(prediction, truth, num_labels)
    assert confusion.shape == (num_labels, num_labels + 1)
    assert confusion.sum() == np.count_nonzero(truth != IGNORE_LABEL)
    result = scores(confusion)
    for name in ("iou", "precision", "recall", "f1"):
        values = result[name][~np.isnan(result[name])]
        assert np.all((values >= 0) & (values <= 1))
    if confusion.sum() == 0:
        assert np.isnan(result["coverage"]) and np.isnan(result["miou"])
    else:
        assert 0 <= result["coverage"] <= 1 and 0 <= result["miou"] <= 1
    perfect = scores(confusion_matrix(truth, truth, num_labels))
    if np.any(truth != IGNORE_LABEL):
        assert perfect["miou"] == 1.0 and perfect["coverage"] == 1.0

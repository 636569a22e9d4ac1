"""The scenes of the generated demo dataset: a small PASCAL-VOC-like multi-label task.

Every image shows 1-3 objects of C classes (6 <= C <= 10) on a textured,
cluttered, low-saturation background, drawn in order so that later objects
occlude earlier ones. Objects may be cut by the image border; every object
keeps at least :data:`MIN_VISIBLE_FRACTION` of its area visible.

Each object is a *body* plus a small *discriminative part* (a "head"):

* the part (about 10-20 % of the object's area, attached at a random point of
  the body boundary) carries the strong class cue: a saturated class-specific
  hue and a class-specific pattern (stripes, dots, checker, ...);
* the body carries only a weak class cue: its hue is centred on the class hue
  but jittered so much that neighbouring classes overlap, while its shape
  family (rotated superellipse with random harmonic wobble) and its mottled
  texture are common to all classes.

A classifier trained on image-level labels therefore relies mostly on the
part, so its raw class activation maps are incomplete, while the body still
holds relative class evidence.

About 40 % of the images also contain one salient *distractor* of no class (a
house, a frame or a sign in saturated magenta with black or white, colours
outside every class palette). It is background (0) in the ground truth; it
misleads a saliency detector.

:func:`render_scene` draws one scene; :mod:`wsss_core.data.synthetic` writes the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

CLASS_NAMES = ("crab", "owl", "frog", "bee", "fish", "snail", "moth", "newt", "wasp", "toad")
MIN_CLASSES = 6
MAX_CLASSES = len(CLASS_NAMES)

# Part patterns; class c uses PATTERNS[c % len(PATTERNS)].
PATTERNS = ("hstripes", "vstripes", "dots", "checker", "diagonal", "grid")

# Hues in degrees. Class part hues are spread evenly over [0, CLASS_HUE_SPAN];
# body hues are clipped to BODY_HUE_LIMITS; distractors use DISTRACTOR_HUES,
# which no class palette reaches.
CLASS_HUE_SPAN = 265.0
BODY_HUE_LIMITS = (-10.0, 280.0)
DISTRACTOR_HUES = (308.0, 328.0)

OBJECT_COUNT_PROBS = (0.45, 0.35, 0.20)  # P(1), P(2), P(3) objects
OBJECT_SIZE_RANGE = (0.18, 0.48)  # object extent as a fraction of the image side
PART_AREA_RANGE = (0.11, 0.19)  # part area relative to the body area
MIN_VISIBLE_FRACTION = 0.35  # of an object's full area
MIN_PART_VISIBLE_FRACTION = 0.4  # of its part's full area
MIN_DISTRACTOR_VISIBLE_FRACTION = 0.6
DISTRACTOR_PROB = 0.4
LOW_CONTRAST_BODY_PROB = 0.3
MAX_PLACEMENT_TRIES = 60
POLY_SHIFT = 4  # sub-pixel bits for cv2.fillPoly
_POLY_SCALE = float(1 << POLY_SHIFT)


@dataclass(frozen=True)
class Instance:
    """One visible object instance of a rendered scene."""

    class_index: int  # 1-based
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the visible pixels, x1 / y1 exclusive
    visible_pixels: int


@dataclass(frozen=True)
class Scene:
    """A rendered image with its ground truth."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    label: np.ndarray  # (H, W) uint8, 0 background, 1..C classes
    instances: tuple[Instance, ...]
    distractor_mask: np.ndarray  # (H, W) bool, visible distractor pixels (background in label)


@dataclass(frozen=True)
class _Object:
    class_index: int
    body: np.ndarray  # (N, 2) float polygon, padded-canvas coordinates
    part: np.ndarray  # (M, 2) float polygon, padded-canvas coordinates


def _class_hue(class_index: int, num_classes: int) -> float:
    """Part hue of a class; source-only classes (index > num_classes) sit halfway between target hues."""
    spacing = CLASS_HUE_SPAN / (num_classes - 1)
    if class_index > num_classes:
        return spacing * (class_index - num_classes - 1) + 0.5 * spacing
    return spacing * (class_index - 1)


def _fill(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """Boolean mask of a float polygon, rasterised with sub-pixel precision."""
    canvas = np.zeros(shape, dtype=np.uint8)
    points = np.round(polygon * _POLY_SCALE).astype(np.int32)
    cv2.fillPoly(canvas, [points], 1, lineType=cv2.LINE_8, shift=POLY_SHIFT)
    return canvas.astype(bool)


def _ellipse_polygon(center: np.ndarray, axes: tuple[float, float], angle: float, points: int = 32) -> np.ndarray:
    theta = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    local = np.stack([axes[0] * np.cos(theta), axes[1] * np.sin(theta)], axis=1)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return local @ rotation.T + center


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Zero-mean, unit-ish smooth random field of shape (size, size)."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def _sample_object(rng: np.random.Generator, class_index: int, image_size: int, pad: int) -> _Object:
    """A body polygon (rotated superellipse with harmonic wobble) plus a part polygon on its boundary."""
    extent = rng.uniform(*OBJECT_SIZE_RANGE) * image_size
    theta = np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False)
    exponent = rng.uniform(2.0, 4.5)  # 2: ellipse, larger: rounded rectangle
    cos, sin = np.cos(theta), np.sin(theta)
    x = np.sign(cos) * np.abs(cos) ** (2.0 / exponent)
    y = np.sign(sin) * np.abs(sin) ** (2.0 / exponent)
    radius = np.ones_like(theta)
    for harmonic in (2, 3, 4):
        radius += rng.uniform(0.0, 0.22 / harmonic) * np.cos(harmonic * theta + rng.uniform(0, 2 * np.pi))
    semi_major = 0.5 * extent / radius.max()
    semi_minor = semi_major * rng.uniform(0.6, 1.0)
    local = np.stack([semi_major * x * radius, semi_minor * y * radius], axis=1)
    angle = rng.uniform(0.0, np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    center = rng.uniform(-0.05 * image_size, 1.05 * image_size, size=2) + pad
    body = local @ rotation.T + center

    body_area = 0.5 * abs(np.dot(body[:, 0], np.roll(body[:, 1], 1)) - np.dot(body[:, 1], np.roll(body[:, 0], 1)))
    part_radius = np.sqrt(rng.uniform(*PART_AREA_RANGE) * body_area / np.pi)
    anchor = body[rng.integers(len(body))]
    outward = (anchor - center) / max(np.linalg.norm(anchor - center), 1e-6)
    part_center = anchor + outward * part_radius * rng.uniform(-0.5, 0.3)
    part = _ellipse_polygon(
        part_center, (part_radius * rng.uniform(0.8, 1.25), part_radius), rng.uniform(0.0, np.pi), points=24
    )
    return _Object(class_index=class_index, body=body, part=part)


def _pattern(name: str, yy: np.ndarray, xx: np.ndarray, period: int, phase: np.ndarray) -> np.ndarray:
    """Boolean class pattern on pixel coordinates (True = secondary colour)."""
    half = max(period // 2, 1)
    x = xx + phase[0]
    y = yy + phase[1]
    if name == "hstripes":
        return (y // half) % 2 == 0
    if name == "vstripes":
        return (x // half) % 2 == 0
    if name == "diagonal":
        return ((x + y) // half) % 2 == 0
    if name == "checker":
        return ((x // half) + (y // half)) % 2 == 0
    if name == "dots":
        return ((x % period) - period / 2 + 0.5) ** 2 + ((y % period) - period / 2 + 0.5) ** 2 <= (period / 3) ** 2
    if name == "grid":
        return (x % period == 0) | (y % period == 0)
    raise ValueError(f"unknown pattern {name!r}")


def _background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Low-saturation HSV background: tinted base, gradient, smooth noise and grey clutter."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    base_hue = rng.uniform(0.0, 360.0)
    direction = rng.uniform(0.0, 2 * np.pi)
    ramp = np.cos(direction) * xx + np.sin(direction) * yy
    hue = base_hue + 25.0 * _smooth_noise(rng, size, 3) + rng.uniform(-30, 30) * ramp
    sat = rng.uniform(0.0, 0.13) + 0.04 * _smooth_noise(rng, size, 4) + rng.uniform(-0.08, 0.08) * ramp
    val = (
        rng.uniform(0.35, 0.75)
        + rng.uniform(0.1, 0.35) * ramp
        + 0.06 * _smooth_noise(rng, size, int(rng.integers(3, 8)))
    )
    hue = hue.astype(np.float32)
    sat = np.ascontiguousarray(sat, dtype=np.float32)
    val = np.ascontiguousarray(val, dtype=np.float32)
    for _ in range(int(rng.integers(6, 15))):
        mask = np.zeros((size, size), dtype=np.uint8)
        kind = rng.integers(3)
        p0 = rng.uniform(-0.1, 1.1, size=2) * size
        if kind == 0:  # line
            p1 = p0 + rng.uniform(-0.6, 0.6, size=2) * size
            cv2.line(mask, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 1, int(rng.integers(1, 4)))
        elif kind == 1:  # blob
            axes = tuple(int(v) for v in rng.uniform(0.03, 0.15, size=2) * size + 1)
            cv2.ellipse(mask, tuple(int(v) for v in p0), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:  # patch
            p1 = p0 + rng.uniform(0.05, 0.25, size=2) * size
            cv2.rectangle(mask, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 1, -1)
        region = mask.astype(bool)
        hue[region] = base_hue + rng.uniform(-40, 40)
        sat[region] = rng.uniform(0.0, 0.16)
        val[region] += rng.choice((-1.0, 1.0)) * rng.uniform(0.06, 0.22)
    val += rng.normal(0.0, 0.025, size=(size, size)).astype(np.float32)
    return hue, sat, val


def _distractor(rng: np.random.Generator, size: int) -> list[tuple[np.ndarray, tuple[float, float, float]]]:
    """Layers (mask, HSV colour) of one salient, class-free compact shape, fully inside the image."""
    magenta = (rng.uniform(*DISTRACTOR_HUES), rng.uniform(0.85, 1.0), rng.uniform(0.85, 1.0))
    contrast = (0.0, 0.0, rng.uniform(0.96, 1.0)) if rng.random() < 0.5 else (0.0, 0.0, rng.uniform(0.04, 0.12))
    width = rng.uniform(0.14, 0.26) * size
    kind = rng.integers(3)
    layers: list[tuple[np.ndarray, tuple[float, float, float]]] = []
    if kind == 0:  # house: wall, roof, door
        height = width * rng.uniform(0.7, 1.05)
        roof = width * rng.uniform(0.4, 0.6)
        x0 = rng.uniform(0.02 * size, 0.98 * size - width)
        y0 = rng.uniform(0.02 * size + roof, 0.98 * size - height)
        wall = np.array([[x0, y0], [x0 + width, y0], [x0 + width, y0 + height], [x0, y0 + height]])
        overhang = 0.1 * width
        roof_poly = np.array([[x0 - overhang, y0 + 1], [x0 + width + overhang, y0 + 1], [x0 + width / 2, y0 - roof]])
        door_x = x0 + width * rng.uniform(0.25, 0.55)
        door = np.array(
            [[door_x, y0 + 0.45 * height], [door_x + 0.22 * width, y0 + 0.45 * height],
             [door_x + 0.22 * width, y0 + height], [door_x, y0 + height]]
        )
        layers = [(_fill((size, size), wall), magenta), (_fill((size, size), roof_poly), contrast),
                  (_fill((size, size), door), contrast)]
    elif kind == 1:  # frame: outer rectangle, contrasting ring, hollow middle keeps the background
        height = width * rng.uniform(0.6, 1.1)
        x0 = rng.uniform(0.02 * size, 0.98 * size - width)
        y0 = rng.uniform(0.02 * size, 0.98 * size - height)
        thick = max(2.0, 0.14 * min(width, height))

        def rect(inset: float) -> np.ndarray:
            return np.array([[x0 + inset, y0 + inset], [x0 + width - inset, y0 + inset],
                             [x0 + width - inset, y0 + height - inset], [x0 + inset, y0 + height - inset]])

        outer, inner, hole = _fill((size, size), rect(0)), _fill((size, size), rect(thick)), _fill(
            (size, size), rect(1.6 * thick)
        )
        layers = [(outer & ~inner, magenta), (inner & ~hole, contrast)]
    else:  # diamond sign with a contrasting core
        half = width / 2
        center = rng.uniform(0.02 * size + half, 0.98 * size - half, size=2)
        diamond = np.array([[0, -half], [half, 0], [0, half], [-half, 0]]) + center
        layers = [(_fill((size, size), diamond), magenta),
                  (_fill((size, size), 0.45 * (diamond - center) + center), contrast)]
    return layers


def render_scene(
    rng: np.random.Generator, image_size: int, num_classes: int, classes: Sequence[int] | None = None
) -> Scene:
    """Render one image with its label map, visible instances and distractor mask.

    Objects are drawn from ``classes`` (default: the target classes
    1..num_classes); indices above ``num_classes`` are the source-only classes
    of the objectness source split. All randomness comes from ``rng``, so the
    same generator state gives the same scene.
    """
    choices = np.arange(1, num_classes + 1) if classes is None else np.asarray(classes)
    size = image_size
    pad = image_size // 2
    crop = (slice(pad, pad + size), slice(pad, pad + size))

    distractor_layers = _distractor(rng, size) if rng.random() < DISTRACTOR_PROB else []
    distractor_full = np.zeros((size, size), dtype=bool)
    for mask, _ in distractor_layers:
        distractor_full |= mask
    objects, full_masks = _place_objects(rng, choices, size, pad, distractor_full)

    hue, sat, val = _background(rng, size)
    for mask, (h, s, v) in distractor_layers:
        hue[mask], sat[mask], val[mask] = h, s, v
    label = _paint_objects(rng, (hue, sat, val), objects, [(o[crop], p[crop]) for o, p in full_masks], num_classes)

    hsv = np.stack([np.mod(hue, 360.0), np.clip(sat, 0.0, 1.0), np.clip(val, 0.0, 1.0)], axis=2)
    rgb = cv2.cvtColor(hsv.astype(np.float32), cv2.COLOR_HSV2RGB)
    rgb += rng.normal(0.0, rng.uniform(0.01, 0.025), size=rgb.shape).astype(np.float32)
    image = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
    return Scene(
        image=image,
        label=label,
        instances=_visible_instances(objects, [mask[crop] for mask, _ in full_masks]),
        distractor_mask=distractor_full & (label == 0),
    )


def _place_objects(
    rng: np.random.Generator, choices: np.ndarray, size: int, pad: int, distractor: np.ndarray
) -> tuple[list[_Object], list[tuple[np.ndarray, np.ndarray]]]:
    """1-3 objects of the ``choices`` classes and their (object, part) masks on the padded canvas."""
    padded = (size + 2 * pad, size + 2 * pad)
    crop = (slice(pad, pad + size), slice(pad, pad + size))
    num_objects = int(rng.choice(len(OBJECT_COUNT_PROBS), p=OBJECT_COUNT_PROBS)) + 1
    objects: list[_Object] = []
    full_masks: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(num_objects):
        class_index = int(choices[rng.integers(0, len(choices))])
        for _ in range(MAX_PLACEMENT_TRIES):
            candidate = _sample_object(rng, class_index, size, pad)
            part_mask = _fill(padded, candidate.part)
            object_mask = _fill(padded, candidate.body) | part_mask
            masks = full_masks + [(object_mask, part_mask)]
            if _placement_ok(masks, crop, distractor):
                objects.append(candidate)
                full_masks = masks
                break
        if not objects:
            raise RuntimeError("could not place the first object; image_size too small?")
    return objects, full_masks


def _paint_objects(
    rng: np.random.Generator,
    hsv: tuple[np.ndarray, np.ndarray, np.ndarray],
    objects: Sequence[_Object],
    masks: Sequence[tuple[np.ndarray, np.ndarray]],
    num_classes: int,
) -> np.ndarray:
    """Paint each object's body (weak class cue) and part (strong cue) into ``hsv`` in place; the label map.

    ``masks`` are the (object, part) masks of the objects inside the image.
    """
    hue, sat, val = hsv
    size = hue.shape[0]
    mottle = _smooth_noise(rng, size, max(size // 10, 4))
    mottle_fine = _smooth_noise(rng, size, max(size // 5, 6))
    yy, xx = np.mgrid[0:size, 0:size]
    period = max(3, round(size / 32))
    label = np.zeros((size, size), dtype=np.uint8)
    background_val = float(np.median(val))
    spacing = CLASS_HUE_SPAN / (num_classes - 1)
    for obj, (object_mask, part) in zip(objects, masks):
        body = object_mask & ~part
        class_hue = _class_hue(obj.class_index, num_classes)
        body_hue = class_hue + np.clip(rng.normal(0.0, 0.7 * spacing), -1.3 * spacing, 1.3 * spacing)
        if rng.random() < LOW_CONTRAST_BODY_PROB:
            body_sat = rng.uniform(0.12, 0.28)
            body_val = float(np.clip(background_val + rng.uniform(-0.12, 0.12), 0.2, 0.95))
        else:
            body_sat = rng.uniform(0.3, 0.75)
            body_val = rng.uniform(0.35, 0.95)
        hue[body] = np.clip(body_hue + 6.0 * mottle_fine[body], *BODY_HUE_LIMITS)
        sat[body] = body_sat * (1.0 + 0.2 * mottle_fine[body])
        val[body] = body_val * (1.0 + 0.2 * mottle[body]) - 0.12 * (mottle_fine[body] > 1.0)

        pattern = part & _pattern(
            PATTERNS[(obj.class_index - 1) % len(PATTERNS)], yy, xx, period, rng.integers(0, period, size=2)
        )
        part_hue = class_hue + rng.uniform(-6.0, 6.0)
        part_sat = rng.uniform(0.85, 1.0)
        part_val = rng.uniform(0.8, 1.0)
        hue[part], sat[part], val[part] = part_hue, part_sat, part_val
        if rng.random() < 0.5:
            val[pattern] = part_val * 0.25
        else:
            sat[pattern] = 0.1
            val[pattern] = 1.0
        label[object_mask] = obj.class_index
    return label


def _visible_instances(objects: Sequence[_Object], object_masks: Sequence[np.ndarray]) -> tuple[Instance, ...]:
    """The visible part of each object (later objects occlude earlier ones) as an :class:`Instance`."""
    instances = []
    for index, (obj, object_mask) in enumerate(zip(objects, object_masks)):
        visible = object_mask.copy()
        for later_mask in object_masks[index + 1:]:
            visible &= ~later_mask
        rows, cols = np.nonzero(visible)
        box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
        instances.append(Instance(class_index=obj.class_index, box=box, visible_pixels=int(visible.sum())))
    return tuple(instances)


def _placement_ok(
    masks: list[tuple[np.ndarray, np.ndarray]], crop: tuple[slice, slice], distractor: np.ndarray
) -> bool:
    """Every object and part (and the distractor) stays visible enough after occlusion and cropping."""
    covered = np.zeros_like(distractor)
    for object_mask, part_mask in reversed(masks):
        visible_object = object_mask[crop] & ~covered
        visible_part = part_mask[crop] & ~covered
        if visible_object.sum() < MIN_VISIBLE_FRACTION * object_mask.sum():
            return False
        if visible_part.sum() < MIN_PART_VISIBLE_FRACTION * part_mask.sum():
            return False
        covered |= object_mask[crop]
    distractor_area = distractor.sum()
    return (distractor & ~covered).sum() >= MIN_DISTRACTOR_VISIBLE_FRACTION * distractor_area

"""Drawing SynthFoley frames with numpy: anti-aliased shapes over a static background.

Coordinates are in pixels, row ``y`` downwards, column ``x`` rightwards, pixel centres on integers.
Shapes are drawn from signed distances (positive inside), ``alpha = clip(sd + 0.5, 0, 1)``, so
objects move smoothly by fractions of a pixel. An object standing on the ground has its lowest
boundary on the ground row (that row is half covered). Materials are visible as surface patterns::

    metal   grey-tinted, shaded top to bottom, specular dot     wood    horizontal grain stripes
    glass   translucent with a bright rim                       rubber  flat with a dark outline
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scene import Background, Scene, SceneObject
from .spec import NUM_FRAMES, SIZE

Colour = tuple[float, float, float] | np.ndarray


@dataclass
class ObjectTrack:
    """Where an object's events show: per frame, the box ``[x0, y0, x1, y1]`` (inclusive) of the
    part that changes at an event (the object, the drop and puddle, the bulb, the fan, the head)."""

    boxes: np.ndarray
    ground: float


class Canvas:
    """A float32 RGB image with alpha-blending primitives."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image

    def grid(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
        """Slices and coordinate arrays (``Y`` column, ``X`` row) of the pixels touching a box."""
        h, w = self.image.shape[:2]
        ix0, iy0 = max(0, math.floor(x0) - 1), max(0, math.floor(y0) - 1)
        ix1, iy1 = min(w, math.ceil(x1) + 2), min(h, math.ceil(y1) + 2)
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        ys = np.arange(iy0, iy1, dtype=np.float32)[:, None]
        xs = np.arange(ix0, ix1, dtype=np.float32)[None, :]
        return slice(iy0, iy1), slice(ix0, ix1), ys, xs

    def blend(self, ys: slice, xs: slice, alpha: np.ndarray, colour: Colour) -> None:
        """``image = (1 - alpha) image + alpha colour`` on a region."""
        region = self.image[ys, xs]
        a = alpha[..., None].astype(np.float32)
        region *= 1.0 - a
        region += a * np.asarray(colour, dtype=np.float32)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, colour: Colour, opacity: float = 1.0,
                ring: float = 0.0) -> None:
        """A filled ellipse (or, with ``ring > 0``, an outline ``ring`` px wide)."""
        g = self.grid(cx - rx, cy - ry, cx + rx, cy + ry)
        if g is None:
            return
        ys, xs, y, x = g
        rr = np.sqrt(((x - cx) / max(rx, 1e-3)) ** 2 + ((y - cy) / max(ry, 1e-3)) ** 2)
        sd = (1.0 - rr) * min(rx, ry)
        alpha = np.clip(sd + 0.5, 0.0, 1.0)
        if ring > 0:
            alpha = alpha * np.clip(ring - sd + 0.5, 0.0, 1.0)
        self.blend(ys, xs, alpha * opacity, colour)

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: Colour, opacity: float = 1.0) -> None:
        """An axis-aligned rectangle with anti-aliased edges."""
        g = self.grid(x0, y0, x1, y1)
        if g is None:
            return
        ys, xs, y, x = g
        sd = np.minimum(np.minimum(x - x0, x1 - x), np.minimum(y - y0, y1 - y))
        self.blend(ys, xs, np.clip(sd + 0.5, 0.0, 1.0) * opacity, colour)


def draw_background(bg: Background) -> np.ndarray:
    """The static background image, float32 ``[SIZE, SIZE, 3]`` in 0..255."""
    y = np.arange(SIZE, dtype=np.float32)[:, None]
    x = np.arange(SIZE, dtype=np.float32)[None, :]
    wall = np.broadcast_to(y < bg.horizon, (SIZE, SIZE))
    gain = np.ones((SIZE, SIZE), dtype=np.float32)
    if bg.kind == "gradient":
        gain = np.where(wall, 1.18 - 0.3 * y / bg.horizon, 1.0 - 0.25 * (y - bg.horizon) / (SIZE - bg.horizon))
    elif bg.kind == "stripes":
        gain = np.where(wall & (((x + bg.phase) // bg.period) % 2 == 0), 1.08, 1.0) * np.ones_like(gain)
    elif bg.kind == "checker":
        cell = (((x + bg.phase) // bg.period) + ((y - bg.horizon) // max(3, bg.period // 2))) % 2
        gain = np.where(~wall & (cell == 0), 1.12, 1.0) * np.ones_like(gain)
    elif bg.kind == "speckle":
        noise = np.random.default_rng(bg.period * 131 + bg.phase).uniform(-0.06, 0.06, (SIZE, SIZE))
        gain = (1.0 + noise).astype(np.float32)
    base = np.where(wall[..., None], np.asarray(bg.wall, np.float32), np.asarray(bg.floor, np.float32))
    image = np.ascontiguousarray(base * gain[..., None], dtype=np.float32)
    image[bg.horizon] *= 0.7  # the line where wall meets floor
    return image


def _shape_sd(shape: str, x: np.ndarray, y: np.ndarray, cx: float, bottom: float, r: float) -> np.ndarray:
    if shape == "circle":
        return r - np.sqrt((x - cx) ** 2 + (y - (bottom - r)) ** 2)
    if shape == "square":
        return np.minimum(r - np.abs(x - cx), r - np.abs(y - (bottom - r)))
    # triangle: base 2r on the bottom, apex 2r above it
    return np.minimum(bottom - y, ((y - (bottom - 2 * r)) / 2.0 - np.abs(x - cx)) / math.sqrt(1.25))


def draw_solid(canvas: Canvas, obj: SceneObject, cx: float, bottom: float, haze: Colour) -> None:
    """A ball/block/wedge with its material's surface pattern."""
    r = obj.radius * obj.scale
    g = canvas.grid(cx - r, bottom - 2 * r, cx + r, bottom)
    if g is None:
        return
    ys, xs, y, x = g
    sd = _shape_sd(obj.shape, x, y, cx, bottom, r)
    alpha = np.clip(sd + 0.5, 0.0, 1.0)
    rgb = np.asarray(obj.rgb, np.float32)
    if obj.distance == "far":
        rgb = 0.82 * rgb + 0.18 * np.asarray(haze, np.float32)
    v = np.clip((y - (bottom - 2 * r)) / (2 * r), 0.0, 1.0)  # 0 at the top, 1 at the bottom
    if obj.material == "metal":
        base = 0.55 * rgb + 0.45 * 190.0
        colour = base * (1.3 - 0.6 * v)[..., None] * np.ones_like(x)[..., None]
        spec = np.clip(0.35 * r - np.sqrt((x - (cx - 0.35 * r)) ** 2 + (y - (bottom - 1.45 * r)) ** 2) + 0.5, 0, 1)
        colour = colour * (1 - spec[..., None]) + 255.0 * spec[..., None]
    elif obj.material == "wood":
        stripe = ((np.floor((y - (bottom - 2 * r)) / max(1.5, 0.3 * r)) % 2) * np.ones_like(x))[..., None]
        colour = rgb * (1.0 - 0.4 * stripe)
    elif obj.material == "glass":
        rim = np.clip(1.5 - sd, 0.0, 1.0)[..., None]
        colour = (0.6 * rgb + 0.4 * 230.0) * (1 - rim) + 255.0 * rim
        alpha = alpha * (0.45 + 0.5 * rim[..., 0])
    else:  # rubber
        edge = np.clip(2.0 - sd, 0.0, 1.0)[..., None]
        colour = rgb * (1 - edge) + 0.25 * rgb * edge
    canvas.blend(ys, xs, np.clip(alpha, 0.0, 1.0), np.clip(colour, 0.0, 255.0))


def draw_object(canvas: Canvas, obj: SceneObject, k: int, haze: Colour) -> tuple[float, float, float, float]:
    """Draw object ``obj`` as it is in frame ``k``; returns the box of its event region."""
    m, s, r = obj.motion, obj.scale, obj.radius * obj.scale
    cx, ground = float(m.x[k]), obj.ground
    rgb = np.asarray(obj.rgb, np.float32)
    dark = (20.0, 20.0, 20.0)
    if obj.action in ("bounce", "slide"):
        bottom = float(m.bottom[k])
        lift = min(1.0, (ground - bottom) / 60.0)
        canvas.ellipse(cx, ground, r * (1.1 - 0.4 * lift), 0.28 * r + 0.5, dark, 0.4 * (1 - 0.6 * lift))
        draw_solid(canvas, obj, cx, bottom, haze)
        return cx - r, bottom - 2 * r, cx + r, bottom
    if obj.action == "drip":
        tap_y, rd = m.params["tap_y"], max(2.5, 0.45 * r)
        canvas.rect(cx - 5 * s, 0, cx + 5 * s, tap_y - 3, (150, 150, 160))
        canvas.rect(cx - 2 * s, tap_y - 3, cx + 2 * s, tap_y, (120, 120, 130))
        canvas.ellipse(cx, ground, 9 * s + 2, 2.2 * s + 0.8, (70, 130, 230), 0.8)
        age = float(m.state["splash"][k])
        if age <= 3:
            canvas.ellipse(cx, ground - 0.5, (5 + 3.5 * age) * s, (1.6 + 0.8 * age) * s, (220, 235, 255),
                           0.9 - 0.2 * age, ring=1.2)
        for b in m.state["drops"][k]:
            if not np.isnan(b):
                canvas.ellipse(cx, b - rd, rd, rd, (110, 175, 255), 0.9)
                canvas.ellipse(cx, b - 2.2 * rd, 0.45 * rd, 0.9 * rd, (110, 175, 255), 0.9)
        return cx - 9 * s - 2, tap_y, cx + 9 * s + 2, ground + 2.2 * s + 1
    if obj.action == "blink":
        rb = 0.8 * r + 1.0
        cy = ground - 14 * s - rb
        canvas.ellipse(cx, ground, 5 * s, 1.5 * s + 0.5, (60, 60, 60))
        canvas.rect(cx - 1.0 * s, cy, cx + 1.0 * s, ground, (90, 90, 90))
        if m.state["lit"][k] > 0:
            canvas.ellipse(cx, cy, 2.2 * rb, 2.2 * rb, rgb, 0.35)
            canvas.ellipse(cx, cy, rb, rb, 0.45 * rgb + 0.55 * 255.0)
        else:
            canvas.ellipse(cx, cy, rb, rb, 0.3 * rgb)
        return cx - 2.2 * rb, cy - 2.2 * rb, cx + 2.2 * rb, cy + 2.2 * rb
    if obj.action == "spin":
        big = 1.25 * r + 2.0
        cy = ground - 10 * s - big
        canvas.rect(cx - 1.2 * s, cy, cx + 1.2 * s, ground, (80, 80, 80))
        canvas.ellipse(cx, ground, 6 * s, 1.6 * s + 0.5, (55, 55, 55))
        g = canvas.grid(cx - big, cy - big, cx + big, cy + big)
        if g is not None:
            ys, xs, y, x = g
            rho = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
            theta = np.arctan2(y - cy, x - cx)
            blade = np.clip((np.cos(3 * (theta - m.state["angle"][k])) - 0.35) * 4 * np.minimum(rho, big) / big, 0, 1)
            alpha = blade * np.clip(big - 1.5 - rho + 0.5, 0, 1)
            canvas.blend(ys, xs, alpha, rgb)
        canvas.ellipse(cx, cy, big, big, (170, 170, 170), 0.9, ring=1.0)
        canvas.ellipse(cx, cy, 0.25 * big + 0.8, 0.25 * big + 0.8, (110, 110, 110))
        led = (60, 255, 90) if m.state["on"][k] > 0 else (25, 60, 30)
        canvas.ellipse(cx + 4 * s, ground - 4 * s, 1.6 * s + 0.6, 1.6 * s + 0.6, led)
        return cx - big, cy - big, cx + big, ground
    if obj.action == "chirp":
        rb = r + 1.0
        cy = ground - rb
        mouth = float(m.state["open"][k])
        canvas.ellipse(cx, ground, rb, 0.25 * rb + 0.5, dark, 0.35)
        canvas.ellipse(cx, cy, rb, rb, rgb)
        _beak(canvas, cx + 0.8 * rb, cy + 0.1 * rb, 0.9 * rb, 0.35 * rb, mouth)
        canvas.ellipse(cx + 0.3 * rb, cy - 0.35 * rb, 0.28 * rb + 0.4, 0.28 * rb + 0.4, (250, 250, 250))
        canvas.ellipse(cx + 0.38 * rb, cy - 0.35 * rb, 0.13 * rb + 0.3, 0.13 * rb + 0.3, (10, 10, 10))
        return cx - rb, cy - rb, cx + 1.7 * rb, ground
    # croak: a frog
    rx, ry = 1.35 * r + 1.0, 0.8 * r + 1.0
    cy = ground - ry
    mouth = float(m.state["open"][k])
    canvas.ellipse(cx, ground, rx, 0.25 * ry + 0.5, dark, 0.35)
    for side in (-1.0, 1.0):
        canvas.ellipse(cx + side * 0.55 * rx, cy - 0.8 * ry, 0.3 * ry + 0.8, 0.3 * ry + 0.8, rgb)
        canvas.ellipse(cx + side * 0.55 * rx, cy - 0.85 * ry, 0.16 * ry + 0.5, 0.16 * ry + 0.5, (10, 10, 10))
    canvas.ellipse(cx, cy, rx, ry, rgb)
    canvas.ellipse(cx, cy + 0.2 * ry, 0.75 * rx, max(0.6, 0.55 * ry * mouth), (90, 20, 30))
    return cx - rx, cy - 1.2 * ry, cx + rx, ground


def _beak(canvas: Canvas, x0: float, cy: float, length: float, half: float, mouth: float) -> None:
    """An orange beak pointing right from ``x0``; opening shows a dark wedge inside."""
    g = canvas.grid(x0, cy - half - mouth * length, x0 + length, cy + half + mouth * length)
    if g is None:
        return
    ys, xs, y, x = g
    u = np.clip((x - x0) / length, 0.0, None)
    spread = half * (1.0 - u) + mouth * 0.7 * length * u
    sd = np.minimum(spread - np.abs(y - cy), np.minimum(x - x0, x0 + length - x))
    canvas.blend(ys, xs, np.clip(sd + 0.5, 0, 1), (245, 160, 30))
    inner = np.minimum(mouth * 0.55 * length * u - np.abs(y - cy), x0 + 0.85 * length - x)
    canvas.blend(ys, xs, np.clip(inner + 0.5, 0, 1) * (mouth > 0.05), (60, 10, 10))


def render_frames(scene: Scene) -> tuple[np.ndarray, list[ObjectTrack]]:
    """All frames of a scene, uint8 ``[T, SIZE, SIZE, 3]``, and each object's event-region track."""
    background = draw_background(scene.background)
    haze = np.asarray(scene.background.wall, np.float32)
    out = np.empty((NUM_FRAMES, SIZE, SIZE, 3), dtype=np.uint8)
    boxes = [np.zeros((NUM_FRAMES, 4), dtype=np.int64) for _ in scene.objects]
    # far objects first so near ones overlap them
    order = sorted(range(len(scene.objects)), key=lambda j: scene.objects[j].scale)
    for k in range(NUM_FRAMES):
        canvas = Canvas(background.copy())
        for j in order:
            x0, y0, x1, y1 = draw_object(canvas, scene.objects[j], k, haze)
            boxes[j][k] = (max(0, math.floor(x0)), max(0, math.floor(y0)),
                           min(SIZE - 1, math.ceil(x1)), min(SIZE - 1, math.ceil(y1)))
        np.clip(canvas.image + 0.5, 0, 255, out=canvas.image)
        out[k] = canvas.image.astype(np.uint8)
    tracks = [ObjectTrack(b, obj.ground) for b, obj in zip(boxes, scene.objects)]
    return out, tracks

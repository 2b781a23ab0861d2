r"""Trajectories and event times of SynthFoley objects.

Every event happens on the frame grid (``onset = k / FPS``), so the frame that shows the event
(the contact frame, the flash frame, the mouth-open frame, the first moving frame) is exactly
frame ``k``, and the audio event starts at sample ``k * SAMPLE_RATE / FPS``::

    bounce  height  ^      .-.                 flights shrink by the restitution until
                    |     /   \     .-.        they are shorter than MIN_FLIGHT; then the
                    |    /     \   /   \  .-.  object rests and is kicked up again
                    +---*-------*-*-----*-*-*----> t      (* = contact = event)

    slide   speed   |*\        *\              each stroke starts at full speed (event)
                    |  \___     \__            and decelerates uniformly to rest
    blink   lit     |*‾‾|  *‾‾|                each flash starts an event
    spin    omega   |* /‾‾‾‾\_                  each switch-on is an event; spin-up/down
    chirp   mouth   |*\ *\ *\                   each opening is an event

A :class:`Motion` holds the events plus per-frame state arrays that :mod:`.render` draws and
:mod:`.sound` listens to; nothing in it depends on pixels or samples beyond the frame grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .spec import DURATION, FPS, NUM_FRAMES

MIN_FLIGHT = 0.12
"""Shortest bounce flight (s); shorter ones would blur onsets, so the object rests instead."""
RESTITUTION: dict[str, float] = {"rubber": 0.84, "metal": 0.76, "glass": 0.72, "wood": 0.66}
SPIN_UP = 0.10
"""Fan spin-up time constant (s)."""
SPIN_DOWN = 0.30
"""Fan spin-down time constant (s)."""

FRAME_TIMES = np.arange(NUM_FRAMES, dtype=np.float64) / FPS


@dataclass(frozen=True)
class Event:
    """One sound event of an object: onset (s, on the frame grid), strength in (0, 1], duration (s)."""

    time: float
    strength: float
    duration: float


@dataclass
class Motion:
    """Events and per-frame state of one object (arrays have one entry per frame).

    ``x`` is the centre column, ``bottom`` the row of the object's lowest point (equal to the
    ground row at contact), ``state`` holds action-specific arrays (``lit``, ``angle``, ``on``,
    ``open``, ``drops``...).
    """

    events: list[Event]
    x: np.ndarray
    bottom: np.ndarray
    state: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)

    @property
    def onsets(self) -> list[float]:
        """Event onsets in seconds."""
        return [e.time for e in self.events]


def snap(t: float) -> float:
    """Round a time to the frame grid."""
    return round(t * FPS) / FPS


def frames(t: float, minimum: int = 1) -> int:
    """Number of whole frames in ``t`` seconds (at least ``minimum``)."""
    return max(minimum, round(t * FPS))


def free_frame(free: np.ndarray | None, k: int) -> int:
    """The first frame ``>= k`` where an event may happen (``free[k]``), or NUM_FRAMES if none.

    ``free`` (bool per frame, None = everywhere) keeps a second object's events away from the
    first object's, so that onsets stay MIN_EVENT_GAP apart.
    """
    if free is None:
        return k
    while k < NUM_FRAMES and not free[k]:
        k += 1
    return k


def bounce_motion(
    rng: np.random.Generator, *, x_range: tuple[float, float], ground: float, half_width: float,
    height: float, scale: float, fast: bool, material: str, free: np.ndarray | None = None,
) -> Motion:
    """Gravity with restitution: drop from rest, bounce with shrinking flights, rest, get kicked up.

    Flight durations are whole numbers of frames, so each contact is a frame; the arc of a flight
    of ``n`` frames is the parabola through both contacts with apex ``g (n/FPS)^2 / 8``.
    """
    e = RESTITUTION[material] + rng.uniform(-0.03, 0.03)
    room = ground - height - 4.0
    apex = min(room, rng.uniform(45.0, 70.0) * scale)
    t0 = rng.uniform(0.30, 0.42) if fast else rng.uniform(0.56, 0.72)
    n0 = frames(t0, 4)
    g = 8.0 * apex / (n0 / FPS) ** 2  # px / s^2
    height_at = np.zeros(NUM_FRAMES)
    flying = np.zeros(NUM_FRAMES, dtype=bool)
    events: list[Event] = []
    n_fall = max(2, n0 // 2)
    start = free_frame(free, frames(rng.uniform(0.04, 0.5)) + n_fall) - n_fall
    drop = g * (n_fall / FPS) ** 2 / 2.0
    height_at[:start] = drop
    k = start
    for j in range(n_fall + 1):  # falling from rest
        if k + j < NUM_FRAMES:
            height_at[k + j] = drop * (1.0 - (j / n_fall) ** 2)
            flying[k + j] = j < n_fall
    k += n_fall
    arrival = n_fall * 2  # a fall of n frames hits like a flight of 2n frames
    n = n0
    while k < NUM_FRAMES:
        events.append(Event(k / FPS, min(1.0, arrival / n0) ** 0.9 * rng.uniform(0.9, 1.0), 0.0))
        n = frames(n / FPS * e, 1)
        if n / FPS < MIN_FLIGHT:  # settle, rest, then a kick starts a full flight
            rest = frames(rng.uniform(0.16, 0.4), 2)
            n = frames(n0 / FPS * rng.uniform(0.8, 1.0), 4)
            k = free_frame(free, k + rest + n) - n
            if k >= NUM_FRAMES:
                break
        for j in range(n + 1):
            if k + j < NUM_FRAMES:
                height_at[k + j] = 4.0 * apex * (n / n0) ** 2 * j * (n - j) / n**2
                flying[k + j] = j < n
        k += n
        arrival = n
    events = [Event(ev.time, ev.strength, _next_gap(events, i)) for i, ev in enumerate(events)]
    span = x_range[1] - x_range[0] - 2 * half_width
    vx = rng.uniform(0.3, 1.0) * span / DURATION * rng.choice([-1.0, 1.0])
    x0 = x_range[0] + half_width + (span if vx < 0 else 0.0)
    x = x0 + vx * np.concatenate([[0.0], np.cumsum(flying[:-1])]) / FPS
    bottom = ground - height_at
    return Motion(events, x, bottom, {"height": height_at}, {"g": g, "restitution": e})


def _next_gap(events: list[Event], i: int) -> float:
    """Time from event ``i`` to the next one (or to the end of the clip)."""
    end = events[i + 1].time if i + 1 < len(events) else DURATION
    return end - events[i].time


def drip_motion(
    rng: np.random.Generator, *, x: float, ground: float, tap_y: float, drop_height: float, fast: bool,
    free: np.ndarray | None = None,
) -> Motion:
    """Drops leave a tap and fall freely into a puddle; each arrival is an event.

    ``state["drops"]`` is ``[T, E]``: the bottom row of drop ``e`` in each frame (NaN when absent);
    ``state["splash"]`` is ``[T]``: frames since the last arrival (large when none).
    """
    fall = ground - tap_y - drop_height
    n_fall = frames(math.sqrt(2.0 * fall / rng.uniform(2600.0, 3400.0)), 3)
    times: list[int] = []
    k = frames(rng.uniform(0.16, 0.6))
    while (k := free_frame(free, k)) < NUM_FRAMES:
        times.append(k)
        k += frames(rng.uniform(0.2, 0.36) if fast else rng.uniform(0.5, 0.9), 3)
    drops = np.full((NUM_FRAMES, len(times)), np.nan)
    splash = np.full(NUM_FRAMES, 1e6)
    for e, c in enumerate(times):
        for j in range(n_fall + 1):
            f = c - n_fall + j
            if 0 <= f < NUM_FRAMES:
                drops[f, e] = tap_y + drop_height + fall * (j / n_fall) ** 2
        splash[c:] = np.minimum(splash[c:], np.arange(NUM_FRAMES - c))
    events = [Event(c / FPS, float(rng.uniform(0.75, 1.0)), 0.0) for c in times]
    events = [Event(ev.time, ev.strength, _next_gap(events, i)) for i, ev in enumerate(events)]
    lowest = np.where(np.isnan(drops), -np.inf, drops).max(axis=1, initial=-np.inf)
    bottom = np.where(np.isfinite(lowest), lowest, np.nan)
    return Motion(events, np.full(NUM_FRAMES, x), bottom, {"drops": drops, "splash": splash},
                  {"tap_y": tap_y, "fall_frames": float(n_fall)})


def slide_motion(
    rng: np.random.Generator, *, x_range: tuple[float, float], ground: float, half_width: float,
    scale: float, fast: bool, free: np.ndarray | None = None,
) -> Motion:
    """Strokes: pushed to full speed at the event, uniform deceleration to rest, pause, repeat.

    ``state["speed"]`` is the normalised speed per frame (1.0 = the fastest push in the world).
    """
    lo, hi = x_range[0] + half_width, x_range[1] - half_width
    x_now = float(rng.uniform(lo, hi))
    x = np.full(NUM_FRAMES, x_now)
    speed = np.zeros(NUM_FRAMES)
    events: list[Event] = []
    k = frames(rng.uniform(0.08, 0.5))
    while (k := free_frame(free, k)) < NUM_FRAMES - 6:
        n = frames(rng.uniform(0.36, 0.6) if fast else rng.uniform(0.6, 1.0), 6)
        dur = n / FPS
        v0 = rng.uniform(95.0, 140.0) if fast else rng.uniform(40.0, 70.0)
        room_right, room_left = hi - x_now, x_now - lo
        direction = 1.0 if room_right >= room_left else -1.0
        room = max(room_right, room_left)
        v0 = min(v0, 2.0 * room / (scale * dur))  # never leave the slot
        events.append(Event(k / FPS, v0 / 140.0, dur))
        for j in range(n + 1):
            if k + j < NUM_FRAMES:
                tau = j / FPS
                x[k + j] = x_now + direction * v0 * scale * (tau - tau * tau / (2.0 * dur))
                speed[k + j] = v0 / 140.0 * (1.0 - j / n)
        x_now = x_now + direction * v0 * scale * dur / 2.0
        x[min(NUM_FRAMES, k + n):] = x_now
        k += n + frames(rng.uniform(0.2, 0.5), 4)
    return Motion(events, x, np.full(NUM_FRAMES, ground), {"speed": speed})


def blink_motion(
    rng: np.random.Generator, *, x: float, ground: float, fast: bool, free: np.ndarray | None = None,
) -> Motion:
    """A lamp flashes: lit for a few frames, dark for a few; each flash is an event."""
    lit = np.zeros(NUM_FRAMES)
    events: list[Event] = []
    k = frames(rng.uniform(0.1, 0.6))
    while (k := free_frame(free, k)) < NUM_FRAMES - 1:
        on = frames(rng.uniform(0.08, 0.16) if fast else rng.uniform(0.24, 0.48), 2)
        off = frames(rng.uniform(0.12, 0.24) if fast else rng.uniform(0.28, 0.6), 2)
        lit[k:k + on] = 1.0
        events.append(Event(k / FPS, float(rng.uniform(0.8, 1.0)), min(on, NUM_FRAMES - k) / FPS))
        k += on + off
    return Motion(events, np.full(NUM_FRAMES, x), np.full(NUM_FRAMES, ground), {"lit": lit})


def spin_speed(events: list[Event], t: np.ndarray) -> np.ndarray:
    """Normalised rotation speed at times ``t``: exponential spin-up while on, spin-down after."""
    omega = np.zeros_like(t, dtype=np.float64)
    for ev in events:
        a, b = ev.time, ev.time + ev.duration
        up = 1.0 - np.exp(-np.clip(t - a, 0.0, None) / SPIN_UP)
        peak = 1.0 - math.exp(-ev.duration / SPIN_UP)
        down = peak * np.exp(-np.clip(t - b, 0.0, None) / SPIN_DOWN)
        omega = np.maximum(omega, np.where(t < a, 0.0, np.where(t < b, up, down)))
    return omega


def spin_motion(
    rng: np.random.Generator, *, x: float, ground: float, fast: bool, free: np.ndarray | None = None,
) -> Motion:
    """A fan is switched on (event), spins up, is switched off, spins down; maybe once more."""
    events: list[Event] = []
    k = frames(rng.uniform(0.1, 0.9))
    while (k := free_frame(free, k)) < NUM_FRAMES - 8:
        on = min(frames(rng.uniform(1.0, 1.8), 8), NUM_FRAMES - k)
        events.append(Event(k / FPS, float(rng.uniform(0.8, 1.0)), on / FPS))
        k += on + frames(rng.uniform(0.5, 0.9), 12)
    omega = spin_speed(events, FRAME_TIMES)
    revs_per_s = rng.uniform(1.3, 1.7) if fast else rng.uniform(0.6, 0.9)
    angle = 2.0 * math.pi * revs_per_s * np.concatenate([[0.0], np.cumsum(omega[:-1])]) / FPS
    angle += rng.uniform(0.0, 2.0 * math.pi)
    on_state = np.zeros(NUM_FRAMES)
    for ev in events:
        k0 = round(ev.time * FPS)
        on_state[k0:k0 + round(ev.duration * FPS)] = 1.0
    return Motion(events, np.full(NUM_FRAMES, x), np.full(NUM_FRAMES, ground),
                  {"angle": angle, "on": on_state, "omega": omega}, {"revs_per_s": revs_per_s})


def creature_motion(
    rng: np.random.Generator, *, x: float, ground: float, fast: bool, croak: bool, free: np.ndarray | None = None,
) -> Motion:
    """A creature opens its mouth (event) and closes it over the call; ``state["open"]`` in [0, 1]."""
    mouth = np.zeros(NUM_FRAMES)
    events: list[Event] = []
    k = frames(rng.uniform(0.1, 0.6))
    while (k := free_frame(free, k)) < NUM_FRAMES - 2:
        dur = rng.uniform(0.16, 0.28) if croak else rng.uniform(0.06, 0.12)
        n_open = frames(dur + 0.04, 2)
        if croak:
            gap = rng.uniform(0.32, 0.48) if fast else rng.uniform(0.6, 1.0)
        else:
            gap = rng.uniform(0.16, 0.3) if fast else rng.uniform(0.4, 0.8)
        step = max(frames(gap), n_open + 1)
        seg = np.clip(1.0 - np.arange(n_open) / n_open, 0.0, 1.0)
        mouth[k:k + n_open] = seg[: NUM_FRAMES - k]
        events.append(Event(k / FPS, float(rng.uniform(0.7, 1.0)), dur))
        k += step
    return Motion(events, np.full(NUM_FRAMES, x), np.full(NUM_FRAMES, ground), {"open": mouth})

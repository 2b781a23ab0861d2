"""SynthFoley sound synthesis: one waveform per event, physical in spirit.

=========  ==================================================================================
bounce     modal synthesis: sum of exponentially decaying partials; frequency ratios and decay
           times depend on the material, pitch falls with size, stronger impacts are brighter;
           plus a short band-limited contact noise
slide      friction: band-limited noise (metal: high, wood: low and grainy) whose loudness and
           brightness follow the speed; rubber squeaks (a harmonic tone whose pitch follows speed)
drip       a bubble: a sine whose pitch rises as it decays (Minnaert resonance), after a click
blink      a steady beep tone while the lamp is lit
spin       a switch click, then a hum whose pitch and level follow the rotation speed
chirp      an upward FM sweep; croak: a buzzy, pulsed, slightly falling low tone
ambience   off screen, no events: rain (high band noise), hum (mains harmonics), rumble (low noise)
=========  ==================================================================================

Distance lowers the level and adds reverb (a decaying-noise impulse response). Every event starts
with an attack of at most a few milliseconds at its onset sample, so onsets are sharp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from .motion import Event, spin_speed
from .scene import Scene, SceneObject
from .spec import NUM_SAMPLES, SAMPLE_RATE, stable_rng

SR = SAMPLE_RATE
HEADROOM = 0.95
"""The mix is scaled down (whole clip) if its peak would exceed this."""
CLASS_LEVEL: dict[str, float] = {
    "bounce": 0.75, "slide": 0.45, "drip": 0.55, "blink": 0.28, "spin": 0.32, "chirp": 0.45, "croak": 0.42,
}
LOUDNESS_GAIN = {"loud": 1.0, "quiet": 0.55}
DISTANCE_GAIN = {"near": 1.0, "far": 0.6}
REVERB = {"near": (0.3, 0.06, 0.006), "far": (0.5, 0.25, 0.02)}
"""Per distance: (RT60 seconds, wet gain, pre-delay seconds)."""
RISE_WINDOW = 0.010
"""Onset audibility: the window (s) after an onset, compared with the two before it."""
RISE_BANDS = (1000.0, 2000.0, 4000.0)
"""Band edges (Hz) of the onset audibility check: 100-1000, 1000-2000, 2000-4000, 4000-8000 Hz."""
RISE_SHARE = 0.1
"""A band counts for audibility if it holds at least this share of the energy after the onset."""
AMBIENCE_RMS = {"rain": 0.009, "hum": 0.007, "rumble": 0.011}


@dataclass(frozen=True)
class Modes:
    """Modal recipe of a material: partial ratios, amplitudes and decay times (s), f0 at radius
    10 px, and the contact transient: a noise burst (band Hz, decay s) whose RMS over the first
    5 ms is ``click_ratio`` times the ring's, so every impact starts with a clear energy rise."""

    ratios: tuple[float, ...]
    amps: tuple[float, ...]
    decays: tuple[float, ...]
    f0: float
    click_band: tuple[float, float]
    click_decay: float
    click_ratio: float


MODES: dict[str, Modes] = {
    "metal": Modes((1.0, 2.756, 5.404, 8.933), (1.0, 0.75, 0.5, 0.3), (0.3, 0.22, 0.16, 0.12), 760.0,
                   (2500.0, 7500.0), 0.0025, 2.0),
    "glass": Modes((1.0, 2.32, 4.25, 6.63), (1.0, 0.6, 0.4, 0.25), (0.16, 0.12, 0.08, 0.05), 2100.0,
                   (4000.0, 7800.0), 0.0015, 2.0),
    "wood": Modes((1.0, 2.57, 4.1, 6.3), (1.0, 0.5, 0.3, 0.15), (0.07, 0.045, 0.03, 0.02), 390.0,
                  (700.0, 4000.0), 0.003, 1.5),
    "rubber": Modes((1.0, 1.6, 2.3), (1.0, 0.45, 0.2), (0.05, 0.035, 0.025), 115.0,
                    (40.0, 700.0), 0.006, 1.2),
}
CONTACT_DAMPING = 0.003
"""A new contact damps the previous impact's ring with this time constant (s)."""


def band_noise(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """White noise band-limited to ``[lo, hi]`` Hz (FFT brick wall with 10 % cosine edges), unit RMS."""
    n = max(int(n), 2)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    edge_lo, edge_hi = 0.1 * lo + 1.0, 0.1 * hi + 1.0
    gain = np.clip((f - (lo - edge_lo)) / (2 * edge_lo), 0, 1) * np.clip(((hi + edge_hi) - f) / (2 * edge_hi), 0, 1)
    out = np.fft.irfft(spec * gain, n)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def attack(n: int, seconds: float = 0.002) -> np.ndarray:
    """A linear fade-in over ``seconds`` (the only softening at an onset)."""
    return np.clip(np.arange(n) / max(1.0, seconds * SR), 0.0, 1.0)


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / (np.max(np.abs(x)) + 1e-12)


def impact(rng: np.random.Generator, material: str, radius: float, strength: float, pitch: float) -> np.ndarray:
    """Modal impact of ``material``; ``pitch`` is the object's f0 jitter factor."""
    m = MODES[material]
    f0 = m.f0 * (10.0 / radius) ** 0.6 * pitch
    length = int(4.0 * max(m.decays) * SR)
    out = np.zeros(length)
    for k, (ratio, amp, decay) in enumerate(zip(m.ratios, m.amps, m.decays)):
        f = f0 * ratio * (1.0 + rng.normal(0.0, 0.004))
        if f > 0.45 * SR:
            continue
        n = int(4.0 * decay * SR)
        t = np.arange(n) / SR
        out[:n] += amp * strength ** (0.4 * k) * np.exp(-t / decay) * np.sin(2 * math.pi * f * t + rng.uniform(0, 0.5))
    w5 = int(0.005 * SR)
    ring_rms = np.sqrt(np.mean(out[:w5] ** 2)) + 1e-12
    n = int(5 * m.click_decay * SR) + 8
    burst = band_noise(rng, n, m.click_band[0], min(m.click_band[1], 0.49 * SR))
    burst *= np.exp(-np.arange(n) / (m.click_decay * SR))
    burst *= m.click_ratio * ring_rms / (np.sqrt(np.mean(burst[:w5] ** 2)) + 1e-12)
    out[:n] += burst
    return _normalise(out * attack(length, 0.0005)) * strength**0.6


def friction(rng: np.random.Generator, material: str, speed: np.ndarray) -> np.ndarray:
    """Friction of ``material`` for a speed curve (normalised, one value per sample)."""
    n = len(speed)
    s = np.clip(speed, 0.0, 1.0)
    if material == "rubber":  # stick-slip squeak: a harmonic tone whose pitch follows the speed
        f = 430.0 + 650.0 * s + 8.0 * band_noise(rng, n, 2.0, 25.0)
        phase = 2 * math.pi * np.cumsum(f) / SR
        tone = np.sin(phase) + 0.45 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)
        out = tone / 1.4 * s**0.6 + 0.1 * band_noise(rng, n, 1000.0, 4000.0) * s
    elif material == "metal":  # scrape: bright noise, brighter when faster
        lo, hi = band_noise(rng, n, 1500.0, 3500.0), band_noise(rng, n, 3500.0, 7500.0)
        out = s**1.1 * (0.6 * lo + 0.8 * s * hi)
    else:  # wood: dull, grainy
        grain = 0.45 + 0.55 * np.abs(band_noise(rng, n, 8.0, 40.0))
        out = s**1.1 * (band_noise(rng, n, 250.0, 900.0) + 0.5 * s * band_noise(rng, n, 900.0, 2500.0)) * grain
    return out * attack(n, 0.002) / 2.0


def tone(rng: np.random.Generator, freq: float, seconds: float) -> np.ndarray:
    """A beep: a soft square wave (odd harmonics) for ``seconds``, 2 ms attack, 15 ms release."""
    n, rel = int(seconds * SR), int(0.015 * SR)
    t = np.arange(n + rel) / SR
    env = attack(n + rel) * np.clip((n + rel - np.arange(n + rel)) / rel, 0.0, 1.0)
    wave = sum(np.sin(2 * math.pi * k * freq * t) / k for k in (1, 3, 5) if k * freq < 0.45 * SR)
    return wave * env / 1.3


def hum(rng: np.random.Generator, ev: Event, f_max: float) -> np.ndarray:
    """Fan: switch click at the onset, then a hum whose pitch and level follow the rotation speed."""
    n = int((ev.duration + 4.0 * 0.3) * SR)
    t = ev.time + np.arange(n) / SR
    omega = spin_speed([ev], t)
    phase = 2 * math.pi * np.cumsum(f_max * omega) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, 7)) / 1.8
    air = 0.12 * band_noise(rng, n, 400.0, 3000.0) * omega**2
    out = (wave * omega + air) * 0.8
    click_n = int(0.004 * SR)
    out[:click_n] += 0.9 * band_noise(rng, click_n, 1000.0, 6000.0) * np.exp(-np.arange(click_n) / (0.0012 * SR))
    return out


def chirp(rng: np.random.Generator, f0: float, seconds: float) -> np.ndarray:
    """Bird call: FM sweep upwards from ``f0`` over ``seconds``."""
    n = int(seconds * SR)
    u = np.arange(n) / n
    f = f0 * (1.0 + rng.uniform(0.35, 0.65) * u**0.8)
    phase = 2 * math.pi * np.cumsum(f) / SR
    env = attack(n, 0.0015) * (1.0 - u) ** 0.7
    return (np.sin(phase) + 0.15 * np.sin(2 * phase)) * env


def croak(rng: np.random.Generator, f0: float, seconds: float) -> np.ndarray:
    """Frog call: buzzy harmonic tone, pulsed at 28-40 Hz, falling about 12 %."""
    n = int(seconds * SR)
    u = np.arange(n) / n
    phase = 2 * math.pi * np.cumsum(f0 * (1.0 - 0.12 * u)) / SR
    wave = sum(np.sin(k * phase) / k**0.8 for k in range(1, 13)) / 3.0
    pulses = 0.3 + 0.7 * (0.5 + 0.5 * np.cos(2 * math.pi * rng.uniform(28.0, 40.0) * np.arange(n) / SR)) ** 2
    env = attack(n, 0.003) * np.clip((1.0 - u) / 0.3, 0.0, 1.0)
    return wave * pulses * env


def bubble(rng: np.random.Generator, f0: float) -> np.ndarray:
    """Drip: a click, then a decaying sine whose pitch rises (a bubble in the puddle)."""
    n = int(0.22 * SR)
    t = np.arange(n) / SR
    f = f0 * (1.0 + 0.9 * (1.0 - np.exp(-t / 0.03)))
    out = np.sin(2 * math.pi * np.cumsum(f) / SR) * np.exp(-t / 0.045) * attack(n, 0.001)
    out[:16] += 0.5 * band_noise(rng, 16, 2000.0, 7000.0)
    return out


def object_events(obj: SceneObject, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """Dry waveforms of an object's events: ``(onset sample, waveform)``, before level and distance."""
    r = obj.radius
    pitch = rng.uniform(0.94, 1.06)
    fast = obj.speed == "fast"
    out: list[tuple[int, np.ndarray]] = []
    for ev in obj.motion.events:
        start = round(ev.time * SR)
        if obj.action == "bounce":
            wave = impact(rng, obj.material, r, ev.strength, pitch)
        elif obj.action == "slide":
            n = int(ev.duration * SR)
            wave = friction(rng, obj.material, ev.strength * (1.0 - np.arange(n) / n))
        elif obj.action == "drip":
            wave = bubble(rng, 650.0 * pitch * (10.0 / r) ** 0.6 * rng.uniform(0.95, 1.05)) * ev.strength
        elif obj.action == "blink":
            wave = tone(rng, 1000.0 * pitch * (10.0 / r) ** 0.3, ev.duration) * ev.strength
        elif obj.action == "spin":
            wave = hum(rng, ev, (195.0 if fast else 120.0) * pitch * (10.0 / r) ** 0.3) * ev.strength
        elif obj.action == "chirp":
            wave = chirp(rng, 2600.0 * pitch * (10.0 / r) ** 0.3, ev.duration) * ev.strength
        else:
            wave = croak(rng, 140.0 * pitch * (10.0 / r) ** 0.5, ev.duration) * ev.strength
        out.append((start, wave))
    if obj.action == "bounce":  # contact damps the previous ring
        for i in range(len(out) - 1):
            (start, wave), nxt = out[i], out[i + 1][0]
            cut = nxt - start
            if cut < len(wave):
                wave[cut:] *= np.exp(-np.arange(len(wave) - cut) / (CONTACT_DAMPING * SR))
    return out


def reverb_ir(rng: np.random.Generator, distance: str) -> np.ndarray:
    """A room response: pre-delay, then exponentially decaying low-passed noise (unit energy)."""
    rt60, _, predelay = REVERB[distance]
    n = int(rt60 * SR)
    tail = band_noise(rng, n, 100.0, 5000.0) * np.exp(-6.9 * np.arange(n) / n)
    ir = np.concatenate([np.zeros(int(predelay * SR)), tail])
    return ir / np.sqrt(np.sum(ir**2))


def ambience(rng: np.random.Generator, kind: str, level: float) -> np.ndarray:
    """Off-screen ambience for the whole clip (no onsets of its own)."""
    n = NUM_SAMPLES
    t = np.arange(n) / SR
    swell = 1.0 + 0.25 * band_noise(rng, n, 0.1, 0.6)
    if kind == "rain":
        wave = (band_noise(rng, n, 700.0, 6500.0) + 0.4 * band_noise(rng, n, 6500.0, 7900.0)) * swell
    elif kind == "hum":
        mains = 50.0 if rng.uniform() < 0.5 else 60.0
        amps = (1.0, 0.7, 0.5, 0.3, 0.25, 0.15, 0.1, 0.08)
        wave = sum(a * np.sin(2 * math.pi * mains * (k + 1) * t + rng.uniform(0, 6.28)) for k, a in enumerate(amps))
    else:  # rumble: distant traffic
        wave = band_noise(rng, n, 25.0, 180.0) * np.clip(swell, 0.2, None) ** 2
    wave = wave / (np.sqrt(np.mean(wave**2)) + 1e-12)
    return wave * AMBIENCE_RMS[kind] * level


def object_track(obj: SceneObject, rng: np.random.Generator, reverb_rng: np.random.Generator,
                 n: int = NUM_SAMPLES) -> tuple[np.ndarray, list[float]]:
    """The object's sound in the mix (level, distance, reverb applied) and each event's peak."""
    gain = CLASS_LEVEL[obj.action] * LOUDNESS_GAIN[obj.loudness] * DISTANCE_GAIN[obj.distance]
    dry = np.zeros(n)
    peaks: list[float] = []
    for start, wave in object_events(obj, rng):
        wave = wave * gain
        peaks.append(float(np.max(np.abs(wave))) if len(wave) else 0.0)
        if start < n:
            seg = wave[: n - start]
            dry[start:start + len(seg)] += seg
    wet = fftconvolve(dry, reverb_ir(reverb_rng, obj.distance))[:n] * REVERB[obj.distance][1]
    return dry + wet, peaks


def render_audio(scene: Scene, objects: list[SceneObject] | None = None,
                 n: int = NUM_SAMPLES) -> tuple[np.ndarray, list[list[float]]]:
    """Mix a scene's soundtrack (float32 ``[n]``) and each object's event peaks.

    ``objects`` replaces ``scene.objects`` (same length and order; e.g. another material on the
    same events); each object keeps its own random stream, keyed by its position.
    """
    objects = scene.objects if objects is None else objects
    key = (scene.seed, scene.split, scene.index)
    mix = np.zeros(n)
    all_peaks: list[list[float]] = []
    for j, obj in enumerate(objects):
        track, peaks = object_track(obj, stable_rng(*key, f"sound{j}"), stable_rng(*key, f"reverb{j}"), n)
        mix += track
        all_peaks.append(peaks)
    if scene.ambience is not None:
        mix += ambience(stable_rng(*key, "ambience"), scene.ambience, scene.ambience_level)[:n]
    top = float(np.max(np.abs(mix)))
    scale = HEADROOM / top if top > HEADROOM else 1.0
    return (mix * scale).astype(np.float32), [[p * scale for p in peaks] for peaks in all_peaks]


def onset_rise(audio: np.ndarray, onset: float, sample_rate: int = SR) -> float:
    """How much an onset at ``onset`` (s) stands out, band-wise like an onset detector's flux.

    Spectra (DC excluded) of the 10 ms after the onset and of the two 10 ms windows before it
    (averaged) are summed into the bands split at RISE_BANDS; over the bands holding at least
    RISE_SHARE of the energy after the onset, the largest energy ratio after/before is returned
    as an amplitude ratio (its square root). A chirp over a low hum counts; steady sounds give
    about 1. The world asks 2.5 of the clean mix; the tests ask 2 of the AAC-decoded track.
    """
    w = round(RISE_WINDOW * sample_rate)
    n0 = round(onset * sample_rate)
    x = np.asarray(audio, dtype=np.float64)
    band = np.digitize(np.fft.rfftfreq(w, 1.0 / sample_rate), RISE_BANDS)
    band[0] = len(RISE_BANDS) + 1  # DC: not measurable in 10 ms, dropped

    def energy(start: int) -> np.ndarray:
        seg = x[max(0, start):max(0, start + w)]
        seg = np.concatenate([np.zeros(w - len(seg)), seg]) if start < 0 else np.pad(seg, (0, w - len(seg)))
        return np.bincount(band, np.abs(np.fft.rfft(seg)) ** 2, minlength=len(RISE_BANDS) + 2)[:-1]

    after = energy(n0)
    before = 0.5 * (energy(n0 - w) + energy(n0 - 2 * w))
    total = after.sum()
    if total <= 0:
        return 0.0
    ratios = [after[b] / max(before[b], 1e-18) for b in range(len(after)) if after[b] >= RISE_SHARE * total]
    return float(np.sqrt(max(ratios)))

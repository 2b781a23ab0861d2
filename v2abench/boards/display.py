"""How a board prints a number and names a row or a column (PROTOCOL.md "Board display").

Values are stored raw in the result files and the CSV; only the display scales and rounds them:

- IB-style and CLAP-style scores (cosines in [-1, 1]) and shares (onset accuracy / AP, Align Acc)
  are shown x100, as papers print them: ``shown = 100 * stored``.
- Three significant digits, never scientific notation: ``0.0123`` -> ``0.0123``, ``5.403`` -> ``5.40``,
  ``269.1`` -> ``269`` (values of 100 and more keep every integer digit). A nonzero value whose
  magnitude is below :data:`FLOOR` (e.g. a speed of 6e-06 s) shows as ``<0.001`` (``>-0.001`` when
  negative), so the cell says how small it is without a misleading ``0.000``.
- Reference rows (model names starting with ``ground-truth``) are displayed ``ground-truth`` and
  ``ground-truth@<codec>`` for the ``ground-truth-<codec>`` baselines (the ground truth after a round
  trip through that codec).
"""

from __future__ import annotations

import math

from v2abench.metrics.speed import SpeedMetrics
from v2abench.results import Result

ARROW = {"higher": "↑", "lower": "↓"}
MISSING = "–"
FLOOR = 1e-3
REFERENCE_PREFIX = "ground-truth"
BASELINE_PARADIGM = "baseline"

# metric families (the id before "@") shown x100
X100_FAMILIES = frozenset({"onset_acc", "onset_ap", "onset_count_acc", "align_acc", "ib", "clap", "clap_audio"})
SPEED_IDS = frozenset(s.id for s in SpeedMetrics.specs)
LABELS = {
    "fd": "FD", "fad": "FAD", "fad_inf": "FAD∞", "kad": "KAD", "kl": "KL", "is": "IS", "ib": "IB",
    "clap": "CLAP", "clap_audio": "CLAP-A", "desync": "DeSync", "align_acc": "Align Acc",
    "onset_acc": "Onset Acc", "onset_ap": "Onset AP", "onset_count_acc": "Onset Count Acc",
    "resemblyzer": "Resemblyzer", "sec_per_clip": "s/clip", "nfe": "NFE", "rtf": "RTF",
}
# backbones papers name in the column (FD_PaSST, KL_PANNs, FAD on VGGish); the others are implied
# by the metric (IB: ImageBind, DeSync: Synchformer, CLAP: LAION-CLAP) or stated per board (synthprobe)
BACKBONE_LABELS = {"vggish": "VGGish", "panns": "PANNs", "passt": "PaSST"}


def family(metric_id: str) -> str:
    return metric_id.split("@", 1)[0]


def backbone(metric_id: str) -> str | None:
    return metric_id.split("@", 1)[1] if "@" in metric_id else None


def scale(metric_id: str) -> float:
    return 100.0 if family(metric_id) in X100_FAMILIES else 1.0


def label(metric_id: str) -> str:
    """The column header a paper would print, e.g. ``KL (PaSST)`` for ``kl@passt``, ``IB`` for ``ib@synthprobe``."""
    name = LABELS.get(family(metric_id), family(metric_id))
    bb = BACKBONE_LABELS.get(backbone(metric_id) or "")
    return f"{name} ({bb})" if bb else name


def number(value: float) -> str:
    """Three significant digits in plain decimal notation (see the module docstring)."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) < FLOOR:
        return f"<{FLOOR:g}" if value > 0 else f">-{FLOOR:g}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    rounded = float(f"{value:.3g}")
    if abs(rounded) >= 100:
        return f"{rounded:.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:.{decimals}f}"


def fmt(metric_id: str, value: float | None) -> str:
    """A stored value as a board shows it (scaled, rounded); ``–`` when absent."""
    return MISSING if value is None else number(value * scale(metric_id))


def is_reference(result: Result) -> bool:
    """Reference rows (ground truth and its codec round trips): shown, never ranked or bold."""
    return str(result.model["name"]).startswith(REFERENCE_PREFIX)


def is_generator(result: Result) -> bool:
    """A row whose model actually generates (not a baseline): the only rows speed is compared among."""
    return result.model.get("paradigm") != BASELINE_PARADIGM and not is_reference(result)


def display_name(result: Result) -> str:
    """``ground-truth-synth-rvq`` -> ``ground-truth@synth-rvq``; other names unchanged."""
    name = str(result.model["name"])
    if name.startswith(REFERENCE_PREFIX + "-"):
        return f"{REFERENCE_PREFIX}@{name[len(REFERENCE_PREFIX) + 1:]}"
    return name


def is_dirty(result: Result) -> bool:
    """The result was produced from a working tree with uncommitted changes."""
    return bool((result.git or {}).get("dirty"))

"""The pooled-data sidecar of a result file: per-clip embeddings, logits and onset detections.

Pooled metrics (FD, KAD, IS, onset AP) are computed from data no single number summarises; boards
resample it by clip, paired between two rows on the same clips (:mod:`v2abench.boards.significance`).
A result keeps that data (:class:`~v2abench.metrics.base.PooledTerms`) beside its JSON in
``<model>@<sha8>.pooled.npz``, which the JSON names with its sha256 (:mod:`v2abench.results`).

Format: an ``.npz`` (zip of ``.npy``, no pickles) written deterministically -- entries in name order,
a fixed timestamp -- so equal data give equal bytes and the JSON's hash stays stable when a result is
loaded and saved again. Entries: ``clips`` (the clip ids, one list for all groups),
``<group>/<name>`` (the rows) and ``<group>/<name>.clip`` (int32: each row's index into ``clips``).
Embeddings and logits are stored as float16 (about 3 significant digits: FD and IS from them match
the float32 values to ~1e-3 relative), onset confidences as float32 (their ranking decides AP, and
float16 would create ties), counts as int32, flags as bool. Size: 2 bytes x dimension x clips per
embedding set, e.g. 300 clips of 128-d probe embeddings, generated and reference: 154 kB.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

import numpy as np

from v2abench.metrics.base import PooledTerms

CLIPS = "clips"
MEMBERS = ".clip"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# float storage per kind of data (PooledTerms.kind); anything not listed is float16
FLOAT_DTYPE = {"onsets": np.float32}


def _stored(kind: str, array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f":
        return array.astype(FLOAT_DTYPE.get(kind, np.float16), copy=False)
    if array.dtype.kind in "iu":
        return array.astype(np.int32, copy=False)
    return array


def encode(groups: Iterable[PooledTerms]) -> bytes:
    """Deterministic ``.npz`` bytes of the distinct groups (a group shared by several metrics once)."""
    unique: dict[str, PooledTerms] = {}
    for terms in groups:
        if unique.setdefault(terms.group, terms) is not terms:
            raise ValueError(f"two different data sets are both named {terms.group!r}")
    clips = sorted({c for terms in unique.values() for c in terms.clips})
    index = {c: i for i, c in enumerate(clips)}
    entries = {CLIPS: np.array(clips, dtype=str) if clips else np.zeros(0, dtype="<U1")}
    for group, terms in unique.items():
        to_global = np.array([index[c] for c in terms.clips], np.int64)
        for name, array in terms.arrays.items():
            entries[f"{group}/{name}"] = _stored(terms.kind, np.asarray(array))
            entries[f"{group}/{name}{MEMBERS}"] = to_global[terms.members[name]].astype(np.int32)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            blob = io.BytesIO()
            np.lib.format.write_array(blob, np.ascontiguousarray(entries[name]), allow_pickle=False)
            archive.writestr(info, blob.getvalue())
    return buf.getvalue()


def decode(data: bytes) -> dict[str, PooledTerms]:
    """Group name -> data, arrays as stored (float16 stays float16, so encoding again gives equal bytes)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    clips = [str(c) for c in entries.pop(CLIPS)]
    groups: dict[str, PooledTerms] = {}
    for key in sorted(entries):
        if key.endswith(MEMBERS):
            continue
        group, _, name = key.rpartition("/")
        terms = groups.setdefault(group, PooledTerms(group, clips, {}, {}))
        terms.arrays[name] = entries[key]
        terms.members[name] = entries[key + MEMBERS].astype(np.int64)
    return groups

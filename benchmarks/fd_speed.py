"""How fast the FD trace-sqrt variants run, and whether they agree (a benchmark script, not a test).

For each dimension d (default 128, 768, 2048) and N = ``--ratio`` x d embeddings per set (N > d, the
covariance path), it times on this machine, with the BLAS threads it was given:

- ``sqrtm``: av-benchmark's ``scipy.linalg.sqrtm(S_g @ S_r)`` (the default trace-sqrt);
- ``eig``: :func:`v2abench.metrics.frechet.trace_sqrt_product` with ``method="eig"`` (Cholesky of S_r,
  congruence, one symmetric eigenvalue solve: LAPACK ``sygv``);
- ``eig (eigh S_r)``: the previous ``eig`` implementation (``eigh(S_r)`` with eigenvectors, the
  symmetric root, then ``eigvalsh``), for reference;
- ``eig, singular S_r``: ``eig`` when the reference covariance has rank d/2 (the fallback path);

and prints the median CPU and wall seconds of ``--repeats`` interleaved runs, the speed-up over ``sqrtm``
in CPU time (with one BLAS thread, what an idle machine would take: on a shared machine wall clock
follows the load) and the relative difference of the FD values from ``sqrtm``'s. The covariances are those of two Gaussian sets with
different random covariances and means (well conditioned). Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fd_speed.py [--dims 128 768 2048] [--ratio 1.5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from v2abench.metrics.frechet import frechet_distance, gaussian_stats


def eig_via_eigh(sigma_g: np.ndarray, sigma_r: np.ndarray) -> float:
    """The former ``eig`` trace-sqrt: ``S_r^{1/2}`` from ``eigh``, then ``eigvalsh`` of the sandwich."""
    w, v = np.linalg.eigh(sigma_r)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root @ sigma_g @ root
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0, None)).sum())


def sets(d: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mix_g = np.eye(d) + rng.standard_normal((d, d)) / (2 * np.sqrt(d))
    mix_r = np.eye(d) + rng.standard_normal((d, d)) / (2 * np.sqrt(d))
    return rng.standard_normal((n, d)) @ mix_g, rng.standard_normal((n, d)) @ mix_r + 0.1


def timed_interleaved(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, tuple[float, float, float]]:
    """Per method: (median CPU seconds, median wall seconds, value), the methods run in turn ``repeats``
    times so that a busy machine slows all of them alike."""
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    values: dict[str, float] = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            values[name] = fn()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start_wall)
    return {k: (statistics.median(cpu[k]), statistics.median(wall[k]), values[k]) for k in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 768, 2048])
    parser.add_argument("--ratio", type=float, default=1.5, help="N / d (N > d: the covariance path)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    table = Table(title="FD trace-sqrt: median seconds per FD from covariances (N > d)")
    for col in ("d", "N", "method", "CPU s", "wall s", "speed-up vs sqrtm (CPU)", "|FD - FD_sqrtm| / FD_sqrtm"):
        table.add_column(col, justify="right")
    for d in args.dims:
        n = int(args.ratio * d)
        g, r = sets(d, n)
        (mu_g, s_g), (mu_r, s_r) = gaussian_stats(g), gaussian_stats(r)
        half = r[:, : d // 2] @ np.random.default_rng(1).standard_normal((d // 2, d))  # rank d/2
        mu_h, s_h = gaussian_stats(half)
        diff, trace = mu_g - mu_r, float(np.trace(s_g) + np.trace(s_r))
        runs = {
            "sqrtm": lambda: frechet_distance(mu_g, s_g, mu_r, s_r, method="sqrtm"),
            "eig": lambda: frechet_distance(mu_g, s_g, mu_r, s_r, method="eig"),
            "eig (eigh S_r)": lambda: float(diff @ diff + trace - 2.0 * eig_via_eigh(s_g, s_r)),
            "eig, singular S_r": lambda: frechet_distance(mu_g, s_g, mu_h, s_h, method="eig"),
        }
        got = timed_interleaved(runs, args.repeats)
        singular_ref = frechet_distance(mu_g, s_g, mu_h, s_h, method="sqrtm")
        base_cpu, _, base_value = got["sqrtm"]
        for name, (cpu, wall, value) in got.items():
            ref_value = singular_ref if "singular" in name else base_value
            table.add_row(str(d), str(n), name, f"{cpu:.3f}", f"{wall:.3f}", f"{base_cpu / cpu:.1f}x",
                          f"{abs(value - ref_value) / abs(ref_value):.1e}")
    Console().print(table)


if __name__ == "__main__":
    main()

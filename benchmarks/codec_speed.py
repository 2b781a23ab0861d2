"""How fast the suite's codecs train and run on this machine (a benchmark script, not a test).

Measures, for each codec config (default: the ``quick`` presets of synth-rvq and synth-latent):

- seconds per training step (forward + losses + backward + AdamW) on batches of ``--batch`` random
  crops of ``--segment`` seconds, with 1 thread and with 2 threads (``torch.set_num_threads``), as
  wall-clock and as process CPU time (with 1 thread, the CPU time is what an idle machine would take);
- encode and decode throughput in eval mode (seconds of 16 kHz audio per wall-clock second) on
  ``--batch`` clips of 4 s, 1 thread and 2 threads.

Synthetic input (band-limited decaying noise bursts) stands in for SynthFoley audio, so no dataset
is needed. Usage::

    .venv/bin/python benchmarks/codec_speed.py [--steps 20] [--warmup 3] [--threads 1 2]
        [--config configs/codecs/synth-rvq/quick.yaml ...]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from v2abench.codecs.stft_codec import count_parameters
from v2abench.codecs.training import CodecModule
from v2abench.config import load_yaml

log = logging.getLogger("codec_speed")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIGS = (REPO / "configs/codecs/synth-rvq/quick.yaml", REPO / "configs/codecs/synth-latent/quick.yaml")


def impacts(batch: int, samples: int, rate: int = 16_000, seed: int = 0) -> torch.Tensor:
    """``[batch, 1, samples]`` of decaying noise bursts at random times: impact-like test audio."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(batch, 1, samples)
    env = torch.exp(-torch.arange(int(0.2 * rate)) / (0.03 * rate))
    for b in range(batch):
        for _ in range(max(1, samples // rate * 2)):
            start = int(torch.randint(0, samples - env.numel(), (1,), generator=g))
            burst = torch.randn(env.numel(), generator=g) * env * 0.3
            out[b, 0, start : start + env.numel()] += burst
    return out


def step_seconds(config: dict, batch: int, segment: float, steps: int, warmup: int) -> tuple[float, float]:
    """Mean (wall-clock, process CPU) seconds of one optimiser step, after ``warmup`` steps (k-means init).

    On a shared machine the CPU time of a 1-thread run is the better estimate of its uncontended speed.
    """
    module = CodecModule("rvq" if "num_codebooks" in config["model"] else "latent", config)
    module.train()
    module.log_dict = lambda *a, **k: None  # type: ignore[method-assign]  # no trainer attached
    module.log = lambda *a, **k: None  # type: ignore[method-assign]
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    wav = impacts(batch, int(segment * module.codec.sample_rate))
    for i in range(warmup + steps):
        if i == warmup:
            wall, cpu = time.perf_counter(), time.process_time()
        loss = module.training_step(wav, i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def throughput(config: dict, batch: int, repeats: int = 3) -> tuple[float, float]:
    """(encode, decode) speed in seconds of audio per second, eval mode, 4 s clips."""
    module = CodecModule("rvq" if "num_codebooks" in config["model"] else "latent", config)
    codec = module.codec.eval()
    wav = impacts(batch, 4 * codec.sample_rate)
    codec.encode(wav)  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        code = codec.encode(wav)
    t_enc = (time.perf_counter() - t0) / repeats
    codec.decode(code)
    t0 = time.perf_counter()
    for _ in range(repeats):
        codec.decode(code)
    t_dec = (time.perf_counter() - t0) / repeats
    audio_seconds = batch * 4.0
    return audio_seconds / t_enc, audio_seconds / t_dec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, nargs="*", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--segment", type=float, default=2.0)
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    table = Table(title=f"codec speed: batch {args.batch} x {args.segment:g} s, {args.steps} steps")
    for col in ("config", "params", "threads", "s/step", "cpu s/step", "steps/min", "encode x RT", "decode x RT"):
        table.add_column(col, justify="right" if col != "config" else "left")
    for path in args.config:
        config = load_yaml(path)
        name = f"{path.parent.name}/{path.stem}"
        params = count_parameters(CodecModule("rvq" if "num_codebooks" in config["model"] else "latent", config).codec)
        for threads in args.threads:
            torch.set_num_threads(threads)
            torch.manual_seed(0)
            sps, cpu = step_seconds(config, args.batch, args.segment, args.steps, args.warmup)
            enc, dec = throughput(config, args.batch)
            log.info("%s, %d thread(s): %.3f s/step (%.3f s CPU)", name, threads, sps, cpu)
            table.add_row(name, f"{params / 1e6:.2f}M", str(threads), f"{sps:.3f}", f"{cpu:.3f}", f"{60 / sps:.0f}",
                          f"{enc:.0f}", f"{dec:.0f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()

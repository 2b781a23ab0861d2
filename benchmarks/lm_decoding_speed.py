"""Decoding speed of the delay-pattern LM: KV cache vs full recomputation, batched vs two-pass CFG.

Not a test: prints a table and writes ``--out`` (JSON) with seconds per 4 s clip. A 4 s clip at 50 Hz
with 4 codebooks is 200 frames + 4 delay steps. Run:

    .venv/bin/python benchmarks/lm_decoding_speed.py --dim 256 --depth 6 --frames 200 --out speed.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import torch

from v2abench.lm import DelayLM, VisualMask
from v2abench.lm.decoding import SamplingConfig, generate_codes

log = logging.getLogger("lm_decoding_speed")


def measure(lm: DelayLM, frames: int, config: SamplingConfig, batch: int, prefix_len: int) -> tuple[float, int]:
    prefix = torch.randn(batch, prefix_len, lm.dim)
    null = torch.zeros_like(prefix)
    gens = [torch.Generator().manual_seed(i) for i in range(batch)]
    start = time.perf_counter()
    _, nfe = generate_codes(lm, prefix, null, frames, gens, visual_fps=25.0, frame_rate=50.0, mask_mode=VisualMask.CAUSAL, config=config)
    return (time.perf_counter() - start) / batch, nfe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lm = DelayLM(4, 1024, args.dim, args.depth, args.heads).eval()
    rows = {}
    for name, cfg in {
        "kv_cache+batched_cfg": SamplingConfig(top_k=250, cfg_scale=3.0, use_cache=True),
        "kv_cache+two_pass_cfg": SamplingConfig(top_k=250, cfg_scale=3.0, use_cache=True, two_pass=True),
        "no_cache+batched_cfg": SamplingConfig(top_k=250, cfg_scale=3.0, use_cache=False),
    }.items():
        seconds, nfe = measure(lm, args.frames, cfg, args.batch, prefix_len=100)
        rows[name] = {"sec_per_clip": round(seconds, 3), "nfe": nfe}
        log.info("%-24s %8.2f s/clip  nfe %d", name, seconds, nfe)
    speedup = rows["no_cache+batched_cfg"]["sec_per_clip"] / rows["kv_cache+batched_cfg"]["sec_per_clip"]
    log.info("KV cache speed-up: %.1fx", speedup)
    report = {"model": vars(args), "params": sum(p.numel() for p in lm.parameters()), "rows": rows, "kv_cache_speedup": round(speedup, 2)}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()

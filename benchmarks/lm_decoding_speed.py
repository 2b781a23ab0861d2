"""Decoding speed of the delay-pattern LMs: KV cache vs full recomputation, batched vs two-pass CFG.

Not a test. Two modes:

- ``--model foleygen|dreamfoley``: the trained generator (``--ckpt RUN_DIR``, default its newest quick
  run) generates 4 s clips of ``synthfoley-test`` end to end (visual encoder, LM, codec decoder) with each
  variant; ``--board synthfoley`` writes the figures into the board's speed table
  (``leaderboards/synthfoley-v1/speed/<model>.json``; then run ``v2abench leaderboard build``)::

      .venv/bin/python benchmarks/lm_decoding_speed.py --model foleygen --board synthfoley

- no ``--model``: a randomly initialised LM of the given size, a random prefix, seconds per clip::

      .venv/bin/python benchmarks/lm_decoding_speed.py --dim 256 --depth 6 --frames 200 --out speed.json

A 4 s clip at 50 Hz with 4 codebooks is 200 frames + 3 delay steps.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time

import torch

from v2abench.lm import DelayLM, VisualMask
from v2abench.lm.decoding import SamplingConfig, generate_codes

log = logging.getLogger("lm_decoding_speed")
VARIANTS = {
    "kv_cache+batched_cfg": {"use_cache": True, "two_pass": False},
    "kv_cache+two_pass_cfg": {"use_cache": True, "two_pass": True},
    "no_cache+batched_cfg": {"use_cache": False, "two_pass": False},
}


def measure_random(lm: DelayLM, frames: int, config: SamplingConfig, batch: int, prefix_len: int) -> tuple[float, int]:
    prefix = torch.randn(batch, prefix_len, lm.dim)
    null = torch.zeros_like(prefix)
    gens = [torch.Generator().manual_seed(i) for i in range(batch)]
    start = time.perf_counter()
    _, nfe = generate_codes(lm, prefix, null, frames, gens, visual_fps=25.0, frame_rate=50.0, mask_mode=VisualMask.CAUSAL, config=config)
    return (time.perf_counter() - start) / batch, nfe


def random_model(args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    lm = DelayLM(4, 1024, args.dim, args.depth, args.heads).eval()
    rows = {}
    for name, flags in VARIANTS.items():
        seconds, nfe = measure_random(lm, args.frames, SamplingConfig(top_k=250, cfg_scale=3.0, **flags), args.batch, prefix_len=100)
        rows[name] = {"sec_per_clip": round(seconds, 3), "nfe": nfe}
        log.info("%-24s %8.2f s/clip  nfe %d", name, seconds, nfe)
    return {"model": vars(args), "params": sum(p.numel() for p in lm.parameters()), "variants": rows}


def trained_model(args: argparse.Namespace) -> dict:
    from v2abench.data.splits import load_split
    from v2abench.evaluation.clips import decode_for_eval
    from v2abench.evaluation.runner import _to_batch
    from v2abench.interface import Task
    from v2abench.registry import REGISTRY

    gen = REGISTRY.build(args.model, "generator", ckpt=args.ckpt)
    clips = [decode_for_eval(r, args.duration) for r in load_split(args.split, limit=args.clips).clips]
    rows = {}
    for name, flags in VARIANTS.items():
        gen.cfg["sampling"].update(flags)
        seconds, nfe = 0.0, 0
        for i in range(0, len(clips), args.batch):
            out = gen.generate(_to_batch(clips[i : i + args.batch], Task.VTA), task=Task.VTA, duration=args.duration, seed=0)
            seconds, nfe = seconds + out.seconds, out.nfe
        rows[name] = {"sec_per_clip": round(seconds / len(clips), 4), "nfe": nfe}
        log.info("%-24s %8.3f s/clip  nfe %d", name, seconds / len(clips), nfe)
    return {"model": args.model, "checkpoint_sha256": gen.meta.checkpoint_sha256, "params": gen.meta.params,
            "duration": args.duration, "batch": args.batch, "clips": len(clips), "split": args.split, "variants": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a trained LM generator (foleygen, dreamfoley)")
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--board", default=None, help="write into this board's speed table (e.g. synthfoley)")
    parser.add_argument("--split", default="synthfoley-test")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--machine", default=f"{platform.machine()} CPU", help="how the speed table names this machine")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.board and not args.model:
        parser.error("--board needs --model (the speed table holds trained generators only)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    report = trained_model(args) if args.model else random_model(args)
    v = report["variants"]
    report["kv_cache_speedup"] = round(v["no_cache+batched_cfg"]["sec_per_clip"] / v["kv_cache+batched_cfg"]["sec_per_clip"], 2)
    report["batched_cfg_speedup"] = round(v["kv_cache+two_pass_cfg"]["sec_per_clip"] / v["kv_cache+batched_cfg"]["sec_per_clip"], 2)
    report["machine"], report["threads"] = args.machine, args.threads
    log.info("KV cache speed-up %.1fx; batched CFG speed-up %.2fx", report["kv_cache_speedup"], report["batched_cfg_speedup"])
    if args.board:
        from v2abench.atomic import write_json
        from v2abench.boards.board import open_board
        from v2abench.boards.speed import SPEED_DIR

        path = open_board(args.board).root / SPEED_DIR / f"{args.model}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, report)
        log.info("wrote %s; rebuild the board with `v2abench leaderboard build`", path)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()

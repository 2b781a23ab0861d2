"""Decoding a delay-pattern LM: KV-cached (or full recomputation), with batched classifier-free guidance.

With CFG the conditional and unconditional prefixes run as one doubled batch per step
(``[cond; uncond]``) and the logits combine as ``uncond + scale * (cond - uncond)``; ``scale = 1``
gives exactly the conditional stream. ``two_pass=True`` runs the two streams as separate forward
passes (for the speed benchmark only). Each clip draws from its own ``torch.Generator``.

``lm`` is a :class:`~v2abench.lm.transformer.DelayLM` or anything with its interface, e.g.
:class:`~v2abench.llm.audio_lm.CausalAudioLM` (a ``transformers`` LLM, decoding with its ``DynamicCache``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from v2abench.lm.attention_masks import VisualMask, prefix_lm_mask
from v2abench.lm.delay_pattern import DelayPattern
from v2abench.lm.sampling import sample_next
from v2abench.lm.transformer import DelayLM, KVCache


@dataclass
class SamplingConfig:
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    cfg_scale: float = 3.0
    use_cache: bool = True
    two_pass: bool = False


@torch.no_grad()
def generate_codes(
    lm: DelayLM | Any,
    prefix: torch.Tensor,
    null_prefix: torch.Tensor | None,
    frames: int,
    generators: list[torch.Generator],
    *,
    visual_fps: float,
    frame_rate: float,
    mask_mode: VisualMask = VisualMask.ALL_FRAME,
    config: SamplingConfig | None = None,
    causal_prefix: bool = False,
) -> tuple[torch.Tensor, int]:
    """Codes ``[B, K, frames]`` and the number of network evaluations (forward passes).

    ``causal_prefix``: the prefix attends causally to itself (one causal LM, as in DreamFoley).
    """
    cfg = config or SamplingConfig()
    pattern = DelayPattern(lm.num_codebooks, lm.special_token)
    b, n, _ = prefix.shape
    steps = pattern.num_steps(frames)
    valid = pattern.valid_mask(frames, prefix.device)
    guided = null_prefix is not None and cfg.cfg_scale != 1.0
    streams = [prefix, null_prefix] if guided else [prefix]
    seq = torch.full((b, lm.num_codebooks, steps), lm.special_token, dtype=torch.long, device=prefix.device)
    full_mask = prefix_lm_mask(n, steps - 1, visual_fps, frame_rate, mask_mode, causal_prefix=causal_prefix)
    batched = torch.cat(streams) if not cfg.two_pass else None
    new_cache = getattr(lm, "new_cache", KVCache)  # an LM may bring its own cache (a transformers DynamicCache)
    caches = [new_cache() for _ in (range(1) if not cfg.two_pass else streams)]
    nfe = 0

    def step_logits(s: int) -> torch.Tensor:
        """Logits predicting step ``s`` for every stream: ``[streams * B, K, V]`` or a list."""
        nonlocal nfe
        inputs = seq[:, :, :s]
        outs = []
        groups = [(batched, caches[0])] if not cfg.two_pass else list(zip(streams, caches))
        for pre, cache in groups:
            reps = pre.shape[0] // b
            if cfg.use_cache:
                if cache.length == 0:
                    out = lm(pre, inputs.repeat(reps, 1, 1), full_mask[: n + s, : n + s], cache)[:, :, -1]
                else:
                    rows = full_mask[n + s - 1 : n + s, : n + s]
                    out = lm.extend(inputs[:, :, -1:].repeat(reps, 1, 1), cache, rows)[:, :, -1]
            else:
                out = lm(pre, inputs.repeat(reps, 1, 1), full_mask[: n + s, : n + s])[:, :, -1]
            nfe += 1
            outs.append(out)
        return torch.cat(outs)

    for s in range(1, steps):
        logits = step_logits(s)
        if guided:
            cond, uncond = logits[:b], logits[b:]
            logits = uncond + cfg.cfg_scale * (cond - uncond)
        tokens = sample_next(logits, generators, cfg.temperature, cfg.top_k, cfg.top_p)
        tokens = torch.where(valid[:, s][None, :], tokens, torch.full_like(tokens, lm.special_token))
        seq[:, :, s] = tokens
    return pattern.revert(seq), nfe

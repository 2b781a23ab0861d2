"""The optimiser most suite-trained assets share: AdamW with linear warm-up, then cosine decay to a floor."""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch


def adamw_warmup_cosine(parameters: Iterable[torch.nn.Parameter], config: dict[str, Any], *, default_lr: float = 1e-3, default_floor: float = 0.1) -> dict[str, Any]:
    """Lightning's ``configure_optimizers`` answer from ``config["optim"]`` and ``config["trainer"]["max_steps"]``.

    ``optim``: ``lr``, ``betas`` (0.9, 0.99), ``weight_decay`` (0.01), ``warmup_steps`` (0) and
    ``min_lr_ratio`` (the floor of the cosine, as a fraction of ``lr``).
    """
    opt = config.get("optim", {})
    optimizer = torch.optim.AdamW(
        parameters, lr=float(opt.get("lr", default_lr)), betas=tuple(opt.get("betas", (0.9, 0.99))), weight_decay=float(opt.get("weight_decay", 0.01))
    )
    total = max(1, int(config.get("trainer", {}).get("max_steps", 1000)))
    warmup = int(opt.get("warmup_steps", 0))
    floor = float(opt.get("min_lr_ratio", default_floor))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

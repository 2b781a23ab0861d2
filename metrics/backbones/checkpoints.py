"""Building a backbone network either from seeded random weights or from its registered checkpoint.

The networks we build ourselves (ImageBind, Synchformer, PANNs CNN14, VGGish) share one rule: random
weights (tests; reduced sizes allowed) come from the constructor plus an optional ``initialise`` step
under a forked, seeded RNG; real weights fit only the full-size network, are read through the weights
registry (never downloaded), optionally split into the entries the network uses and the ones asserted
to belong to parts we do not use, and loaded with exact key matching onto a network built on the meta
device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


@dataclass
class BuiltNetwork:
    net: nn.Module
    sha256: str | None = None  # of the checkpoint file (None: random weights)
    unused_keys: list[str] = field(default_factory=list)


def build_network(
    factory: Callable[[], nn.Module],
    *,
    random_init: bool,
    seed: int,
    weights_name: str,
    load_state: Callable[[Path], dict[str, Any]],
    full_size: bool = True,
    initialise: Callable[[nn.Module], None] | None = None,
    split: Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]] | None = None,
) -> BuiltNetwork:
    """``factory()`` with seeded random weights, or with the registered checkpoint ``weights_name``."""
    if random_init:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = factory()
            if initialise is not None:
                initialise(net)
        return BuiltNetwork(net)
    if not full_size:
        raise ValueError(f"the {weights_name} weights fit only the full-size network; reduced sizes are for random_init=True")
    from v2abench.weights import require, sha256_file

    path = require(weights_name)
    state = load_state(path)
    used, unused = split(state) if split is not None else (state, [])
    with torch.device("meta"):
        net = factory()
    net.load_state_dict(used, strict=True, assign=True)
    sha = sha256_file(path)
    log.info("loaded %s from %s (sha256 %s): %d entries used, %d unused: %s", weights_name, path, sha[:12], len(used), len(unused), unused)
    return BuiltNetwork(net, sha, unused)

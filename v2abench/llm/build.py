"""Causal LMs of any ``transformers`` architecture, built from a config alone (no Hub, no download).

``build_causal_lm("qwen2", hidden_size=896, num_hidden_layers=24, ...)`` is
``AutoModelForCausalLM.from_config(AutoConfig.for_model("qwen2", ...))`` with two guards: an unknown
architecture gets "did you mean" suggestions, and a config key the architecture does not have (a typo such
as ``hidden_sizes``, which ``transformers`` would keep silently) is an error. Attention defaults to
PyTorch's ``sdpa``. Parameters are initialised by ``transformers``' own scheme (normal, std
``initializer_range``), drawn from torch's global generator, so ``torch.manual_seed`` fixes them.

Build inside ``with torch.device("meta"):`` to count the parameters of a 7B architecture without memory.
"""

from __future__ import annotations

import difflib
import os
from types import ModuleType
from typing import Any

import torch

# keys ``transformers`` accepts beside those of an architecture's default config
_EXTRA_KEYS = frozenset({"attn_implementation", "rope_theta"})


def import_transformers() -> ModuleType:
    """``transformers``, imported with the Hub switched off unless the user set ``HF_HUB_OFFLINE`` already."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    return transformers


def causal_lm_config(arch: str, **config: Any) -> Any:
    """The ``transformers`` config of architecture ``arch`` (a ``model_type`` such as ``qwen2``, ``gemma``)."""
    transformers = import_transformers()
    known = transformers.CONFIG_MAPPING
    if arch not in known:
        close = difflib.get_close_matches(arch, list(known.keys()), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown transformers architecture {arch!r}.{hint}")
    allowed = set(known[arch]().to_dict()) | _EXTRA_KEYS
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"{arch} configs have no key(s) {unknown}; known: {sorted(allowed - {'_name_or_path', 'transformers_version'})}")
    config.setdefault("attn_implementation", "sdpa")
    return transformers.AutoConfig.for_model(arch, **config)


def build_causal_lm(arch: str, **config: Any) -> torch.nn.Module:
    """A freshly initialised causal LM (``XxxForCausalLM``) of architecture ``arch``."""
    transformers = import_transformers()
    return transformers.AutoModelForCausalLM.from_config(causal_lm_config(arch, **config))


def causal_lm_from_dict(saved: dict[str, Any]) -> torch.nn.Module:
    """A freshly initialised causal LM from a config saved with ``config.to_dict()`` (a run's ``meta.json``)."""
    transformers = import_transformers()
    config = transformers.CONFIG_MAPPING[saved["model_type"]].from_dict(saved, attn_implementation="sdpa")
    return transformers.AutoModelForCausalLM.from_config(config)


def count_parameters(module: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters; a shared tensor (tied embeddings) counts once, as ``parameters()`` yields it once."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)

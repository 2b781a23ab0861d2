"""Real LLM weights from a local folder, found through the weights registry; never downloaded.

``load_pretrained_causal_lm("qwen2.5-7b")`` reads ``$V2ABENCH_HOME/weights/qwen2.5-7b/`` (a Hugging Face
model folder that ``v2abench weights import qwen2.5-7b FOLDER`` put there) without any hub code path:
the architecture is built from its ``config.json`` (:func:`~v2abench.llm.build.causal_lm_from_dict`) and
the weights are read from its ``*.safetensors`` shards with ``safetensors`` and loaded strictly (a tied
output head may be absent from the files). A missing folder raises :class:`~v2abench.weights.MissingWeightsError` naming that
command. :func:`pretrained_caption_tokenizer` gives the folder's own tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from v2abench.llm.build import causal_lm_from_dict
from v2abench.llm.tokenizer import CaptionTokenizer


def llm_folder(name: str) -> Path:
    """The local folder of registry entry ``name`` (a ``kind="folder"`` entry)."""
    from v2abench import weights

    spec = weights.get_spec(name)
    if spec.kind != "folder":
        raise ValueError(f"weights {name!r} are a single file, not an LLM folder")
    return weights.require(name)


def load_pretrained_causal_lm(name: str, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """The causal LM of registry folder ``name``, its weights loaded (attention: ``sdpa``)."""
    from safetensors.torch import load_file

    folder = llm_folder(name)
    model = causal_lm_from_dict(json.loads((folder / "config.json").read_text()))
    shards = sorted(folder.glob("*.safetensors"))
    if not shards:
        raise FileNotFoundError(f"{folder}: no *.safetensors weights; re-import it with `v2abench weights import {name} FOLDER`")
    state: dict[str, torch.Tensor] = {}
    for shard in shards:
        state.update(load_file(str(shard)))
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    if unexpected or set(missing) - tied:
        raise ValueError(f"{folder}: weights do not fit its config.json (missing {sorted(set(missing) - tied)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]})")
    if tied:
        model.tie_weights()
    return model.to(dtype).eval()


def pretrained_caption_tokenizer(name: str) -> CaptionTokenizer:
    """The tokenizer shipped in registry folder ``name``."""
    return CaptionTokenizer.from_folder(llm_folder(name))

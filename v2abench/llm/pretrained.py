"""Real LLM weights from a local folder, found through the weights registry; never downloaded.

``load_pretrained_causal_lm("qwen2.5-7b")`` reads ``$V2ABENCH_HOME/weights/qwen2.5-7b/`` (a Hugging Face
model folder that ``v2abench weights import qwen2.5-7b FOLDER`` put there) with
``from_pretrained(..., local_files_only=True)``: architecture from its ``config.json``, weights from its
``*.safetensors``. A missing folder raises :class:`~v2abench.weights.MissingWeightsError` naming that
command. :func:`pretrained_caption_tokenizer` gives the folder's own tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import torch

from v2abench.llm.build import import_transformers
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
    transformers = import_transformers()
    return transformers.AutoModelForCausalLM.from_pretrained(str(llm_folder(name)), local_files_only=True, dtype=dtype, attn_implementation="sdpa")


def pretrained_caption_tokenizer(name: str) -> CaptionTokenizer:
    """The tokenizer shipped in registry folder ``name``."""
    return CaptionTokenizer.from_folder(llm_folder(name))

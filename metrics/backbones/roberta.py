"""The RoBERTa-base text tower of LAION-CLAP and its tokenizer, built without the hub.

``laion_clap`` builds its text branch with ``RobertaModel.from_pretrained("roberta-base")`` and its
tokenizer with ``RobertaTokenizer.from_pretrained("roberta-base")``; both reach the hub. Here the
network is transformers' ``RobertaModel`` constructed from :data:`ROBERTA_BASE`, the roberta-base
configuration written out in our code (every weight, the pooler included, then comes from the CLAP
checkpoint's ``text_branch.*``), and the tokenizer is built from the two files registered as weights
``roberta-base-tokenizer-vocab`` (``vocab.json``) and ``roberta-base-tokenizer-merges``
(``merges.txt``) of ``FacebookAI/roberta-base``.

Tokenisation as ``CLAP_Module.tokenizer``: byte-level BPE with ``<s> … </s>``, truncated and padded
(``<pad>`` = 1) to :data:`CONTEXT_LENGTH` = 77 tokens, with an attention mask. CLAP's text feature
is the pooler output (``tanh(dense(h[<s>]))``), then ``text_projection`` (in :mod:`.clap`).

:class:`StandInTokenizer` is for tests with random weights only: a word-level hashing tokenizer
with the same output layout (``<s>`` = 0, ``<pad>`` = 1, ``</s>`` = 2, 77 tokens). It is never used
with real weights.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import torch
from transformers import RobertaConfig, RobertaModel

CONTEXT_LENGTH = 77
VOCAB_WEIGHTS = "roberta-base-tokenizer-vocab"
MERGES_WEIGHTS = "roberta-base-tokenizer-merges"
BOS_ID, PAD_ID, EOS_ID, UNK_ID = 0, 1, 2, 3

# FacebookAI/roberta-base config.json (the architecture; no weights come from the hub).
ROBERTA_BASE: dict[str, Any] = {
    "vocab_size": 50265,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-5,
    "pad_token_id": PAD_ID,
    "bos_token_id": BOS_ID,
    "eos_token_id": EOS_ID,
}


def roberta_config(overrides: dict[str, Any] | None = None) -> RobertaConfig:
    """roberta-base's configuration (``overrides``, e.g. fewer layers, only for tests)."""
    return RobertaConfig(**{**ROBERTA_BASE, **(overrides or {})})


def build_text_branch(overrides: dict[str, Any] | None = None) -> RobertaModel:
    """``RobertaModel`` (with pooler) from :func:`roberta_config`; random weights as transformers initialises them."""
    return RobertaModel(roberta_config(overrides), add_pooling_layer=True)


def materialise_buffers(text_branch: RobertaModel, device: torch.device | str = "cpu") -> None:
    """Rebuild the non-persistent index buffers that a meta-device build leaves empty.

    ``embeddings.position_ids`` (``arange(514)``) and ``embeddings.token_type_ids`` (zeros) are not
    in any state dict, so ``load_state_dict(assign=True)`` cannot fill them.
    """
    emb = text_branch.embeddings
    n = text_branch.config.max_position_embeddings
    if getattr(emb, "position_ids", None) is not None and emb.position_ids.is_meta:
        emb.register_buffer("position_ids", torch.arange(n, device=device).expand((1, -1)), persistent=False)
    if getattr(emb, "token_type_ids", None) is not None and emb.token_type_ids.is_meta:
        emb.register_buffer("token_type_ids", torch.zeros((1, n), dtype=torch.long, device=device), persistent=False)


class RobertaTextTokenizer:
    """The roberta-base byte-level BPE tokenizer from local ``vocab.json`` and ``merges.txt``."""

    def __init__(self, vocab_file: Path | str, merges_file: Path | str, context_length: int = CONTEXT_LENGTH) -> None:
        from transformers import RobertaTokenizer

        # as RobertaTokenizer.from_pretrained passes the files (convert_to_native_format)
        self.tokenizer = RobertaTokenizer(vocab=str(vocab_file), merges=str(merges_file))
        self.context_length = context_length

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        out = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.context_length, return_tensors="pt")
        return {"input_ids": out["input_ids"], "attention_mask": out["attention_mask"]}

    def settings(self) -> dict[str, object]:
        return {"tokenizer": "roberta-base BPE", "context_length": self.context_length}


class StandInTokenizer:
    """FOR TESTS WITH RANDOM WEIGHTS ONLY: lower-cased words hashed (crc32) into ids 4..vocab_size-1.

    Same layout as the real tokenizer: ``<s>`` words ``</s>`` then ``<pad>`` up to 77 tokens,
    attention mask 1 on real tokens. Deterministic across processes (no Python ``hash``).
    """

    def __init__(self, vocab_size: int = ROBERTA_BASE["vocab_size"], context_length: int = CONTEXT_LENGTH) -> None:
        self.vocab_size, self.context_length = vocab_size, context_length

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        ids = torch.full((len(texts), self.context_length), PAD_ID, dtype=torch.long)
        mask = torch.zeros((len(texts), self.context_length), dtype=torch.long)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+|[^\w\s]", text.lower())[: self.context_length - 2]
            tokens = [BOS_ID, *(4 + zlib.crc32(w.encode()) % (self.vocab_size - 4) for w in words), EOS_ID]
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def settings(self) -> dict[str, object]:
        return {"tokenizer": "stand-in word-level crc32 (tests only)", "context_length": self.context_length}

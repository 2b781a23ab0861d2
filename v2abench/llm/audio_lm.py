"""A ``transformers`` causal LM over ``[prefix; delayed audio codes]``: summed codebook embeddings in, K heads out.

The LLM (any ``XxxForCausalLM``: a Qwen2 built from a config or loaded from a folder) runs on
``inputs_embeds``; its own word embeddings embed text (:meth:`CausalAudioLM.embed_text`). Only its
backbone is kept (``base_model``: embeddings, decoder layers, final norm): its text head would predict
words, never used here, so it is dropped rather than carried as dead parameters. Audio step ``s`` of the delay pattern (:mod:`v2abench.lm.delay_pattern`) enters as

    x_s = sum_{q < K} E_q[c_{q,s}]          (E_q: an embedding table of card + 1 rows, the last one '#')

and the hidden state h_s of that position gives K distributions over the next step,
``logits_q = W_q h_s + b_q``. Attention is causal over the whole sequence (one causal LM: text, video and
audio alike), positions are the LLM's own (RoPE for Qwen2), and decoding keeps keys and values in the
library's ``DynamicCache`` (:class:`LLMCache`).

The interface is that of :class:`~v2abench.lm.transformer.DelayLM` (``forward(prefix, tokens, mask,
cache)``, ``extend(tokens, cache, mask_rows)``, ``new_cache()``, ``num_codebooks``, ``special_token``),
so :func:`~v2abench.lm.decoding.generate_codes` and the delay-pattern loss drive either. The bool masks it
is given must be causal: it checks them, as a ``transformers`` LLM only attends causally here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class LLMCache:
    """A ``transformers.DynamicCache`` behind the decoding loop's cache protocol (``length``)."""

    def __init__(self, config: Any) -> None:
        from v2abench.llm.build import import_transformers

        self.kv = import_transformers().DynamicCache(config=config)

    @property
    def length(self) -> int:
        return int(self.kv.get_seq_length())


def _check_causal(mask: torch.Tensor, past: int) -> None:
    """``mask`` ``[new, past + new]`` must be the causal rows ``j <= past + i``."""
    new, total = mask.shape
    if total != past + new or not torch.equal(mask.cpu(), torch.ones(new, total, dtype=torch.bool).tril(past)):
        raise ValueError("a transformers causal LM attends causally: the mask it was given is not causal")


class CausalAudioLM(nn.Module):
    """The backbone of ``llm`` (a causal LM) plus K audio embeddings and K linear heads over ``card`` codes."""

    def __init__(self, llm: nn.Module, num_codebooks: int, card: int) -> None:
        super().__init__()
        self.llm = llm.base_model  # the decoder without its text head
        self.num_codebooks, self.card = int(num_codebooks), int(card)
        self.special_token = self.card  # '#': the padding of the delay pattern
        self.dim = int(llm.config.hidden_size)
        self.embeddings = nn.ModuleList(nn.Embedding(card + 1, self.dim) for _ in range(num_codebooks))
        self.heads = nn.ModuleList(nn.Linear(self.dim, card) for _ in range(num_codebooks))
        std = float(getattr(llm.config, "initializer_range", 0.02))
        for table in self.embeddings:
            nn.init.normal_(table.weight, std=std)
        for head in self.heads:
            nn.init.normal_(head.weight, std=std)
            nn.init.zeros_(head.bias)

    def embed_text(self, ids: torch.Tensor) -> torch.Tensor:
        """``[B, L]`` text ids -> ``[B, L, D]``: the LLM's word embeddings."""
        return self.llm.get_input_embeddings()(ids)

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, K, A]`` codes -> ``[B, A, D]``: the sum of the K codebook embeddings."""
        return sum(table(tokens[:, q]) for q, table in enumerate(self.embeddings))  # type: ignore[return-value]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``[B, A, D]`` -> ``[B, K, A, card]``."""
        return torch.stack([head(hidden) for head in self.heads], dim=1)

    def new_cache(self) -> LLMCache:
        return LLMCache(self.llm.config)

    def _hidden(self, x: torch.Tensor, cache: LLMCache | None) -> torch.Tensor:
        out = self.llm(inputs_embeds=x, past_key_values=None if cache is None else cache.kv, use_cache=cache is not None)
        return out.last_hidden_state

    def forward(self, prefix: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor, cache: LLMCache | None = None) -> torch.Tensor:
        """Logits ``[B, K, A, card]`` for every audio position of ``[prefix; embed(tokens)]``."""
        n = prefix.shape[1]
        x = torch.cat([prefix, self.embed_tokens(tokens)], dim=1)
        _check_causal(mask, 0)
        return self.logits(self._hidden(x, cache)[:, n:])

    def extend(self, tokens: torch.Tensor, cache: LLMCache, mask_rows: torch.Tensor) -> torch.Tensor:
        """Logits for new audio positions, given a cache of everything before them."""
        _check_causal(mask_rows, cache.length)
        return self.logits(self._hidden(self.embed_tokens(tokens), cache))

"""A word-level tokenizer built from SynthFoley captions (the vocabulary travels in the asset's JSON).

Text is lower-cased and split into words with ``[a-z0-9]+(?:'[a-z]+)?`` (punctuation is dropped); each
word maps to its vocabulary id, a word outside the vocabulary to ``<unk>``. Ids ``0..3`` are the
specials ``<pad> <unk> <bos> <eos>``; the words follow in descending training-caption frequency (ties
alphabetical), so the same captions always give the same vocabulary. ``encode`` pads to the longest
text of the batch (at most ``max_length`` tokens, longer texts are cut) and returns a boolean mask,
True on real tokens. ``decode`` inverts ``encode`` up to normalisation: ``decode(encode([s]))`` is
``" ".join(words(s))`` when every word is known.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import torch

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """The normalised words of ``text`` (lower case, punctuation dropped)."""
    return _WORD.findall(text.lower())


class WordTokenizer:
    """Word-level tokenizer: ``encode(texts) -> (ids int64 [B, L], mask bool [B, L])``."""

    def __init__(self, vocab: Sequence[str], max_length: int = 64, add_bos_eos: bool = False) -> None:
        vocab = list(vocab)
        if tuple(vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with the specials {SPECIALS}, got {vocab[:4]}")
        if len(set(vocab)) != len(vocab):
            raise ValueError("the vocabulary holds a word twice")
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.max_length = int(max_length)
        self.add_bos_eos = bool(add_bos_eos)
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.index[s] for s in SPECIALS)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, max_length: int = 64,
              add_bos_eos: bool = False) -> WordTokenizer:
        """The vocabulary of ``texts``: words seen at least ``min_count`` times, most frequent first."""
        counts = Counter(w for t in texts for w in words(t))
        kept = sorted((w for w, n in counts.items() if n >= min_count and w not in SPECIALS),
                      key=lambda w: (-counts[w], w))
        return cls([*SPECIALS, *kept], max_length=max_length, add_bos_eos=add_bos_eos)

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def ids(self, text: str) -> list[int]:
        """The ids of one text, without padding (cut to ``max_length``)."""
        out = [self.index.get(w, self.unk_id) for w in words(text)]
        if self.add_bos_eos:
            out = [self.bos_id, *out[: self.max_length - 2], self.eos_id]
        return out[: self.max_length]

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids int64 [B, L], mask bool [B, L])``; L is the longest text (>= 1), pads are ``<pad>``."""
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not one string")
        rows = [self.ids(t) for t in texts]
        length = max([1, *(len(r) for r in rows)])
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.int64)
        mask = torch.zeros((len(rows), length), dtype=torch.bool)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
            mask[i, : len(row)] = True
        return ids, mask

    def decode(self, ids: torch.Tensor | Sequence[int], mask: torch.Tensor | None = None) -> str | list[str]:
        """Text of one id sequence (a str) or of a batch ``[B, L]`` (a list); pads and bos/eos are dropped."""
        t = torch.as_tensor(ids)
        if t.dim() == 2:
            return [self.decode(row, None if mask is None else mask[i]) for i, row in enumerate(t)]  # type: ignore[misc]
        keep = t.tolist() if mask is None else [i for i, m in zip(t.tolist(), torch.as_tensor(mask).tolist()) if m]
        skip = {self.pad_id, self.bos_id, self.eos_id}
        return " ".join(self.vocab[i] if 0 <= i < len(self.vocab) else UNK for i in keep if i not in skip)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "word", "vocab": list(self.vocab), "max_length": self.max_length,
                "add_bos_eos": self.add_bos_eos}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WordTokenizer:
        if data.get("type", "word") != "word":
            raise ValueError(f"not a word tokenizer: {data.get('type')!r}")
        return cls(data["vocab"], max_length=int(data.get("max_length", 64)),
                   add_bos_eos=bool(data.get("add_bos_eos", False)))


def caption_tokenizer(split: str = "synthfoley-train", max_length: int = 64) -> WordTokenizer:
    """The tokenizer of a split's captions (the train split's for the shipped encoders)."""
    from v2abench.data.splits import load_split

    clips = load_split(split).clips
    return WordTokenizer.build((c.caption or "" for c in clips), max_length=max_length)

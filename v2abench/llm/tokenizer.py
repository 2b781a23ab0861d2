"""Caption tokenizers built with the ``tokenizers`` library, giving fixed-length id rows for an LLM.

Two sources:

- :meth:`CaptionTokenizer.word_level`: a ``WordLevel`` model over the vocabulary that
  :class:`~v2abench.encoders.text_tokenizer.WordTokenizer` builds from captions (specials
  ``<pad> <unk> <bos> <eos>`` first, then words by descending frequency, ties alphabetical). The
  normaliser lower-cases; the pre-tokeniser isolates the words of ``WordTokenizer``'s pattern
  ``[a-z0-9]+(?:'[a-z]+)?`` and removes the pieces between them (which hold no letter or digit), so both
  tokenizers give the same ids for every text (a test checks it on the SynthFoley captions);
- :meth:`CaptionTokenizer.from_folder`: a pretrained LLM's ``tokenizer.json`` (e.g. Qwen2.5's byte-level
  BPE), its padding token read from ``tokenizer_config.json``.

:meth:`CaptionTokenizer.ids` returns ``[B, length]``: each caption's ids cut to ``length``, then padded
with the pad id; a missing caption is all padding. The length is fixed, so a clip's ids never depend on
the captions batched with it. The whole tokenizer (``tokenizers`` JSON + pad id) travels in a run's
``meta.json`` (:meth:`to_dict` / :meth:`from_dict`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from v2abench.encoders.text_tokenizer import _WORD, PAD, UNK, WordTokenizer


class CaptionTokenizer:
    """A ``tokenizers.Tokenizer`` and its pad id: ``ids(texts, length) -> int64 [B, length]``."""

    def __init__(self, tokenizer: Any, pad_id: int) -> None:
        self.tokenizer = tokenizer
        self.pad_id = int(pad_id)
        if not 0 <= self.pad_id < len(self):
            raise ValueError(f"pad id {pad_id} outside the vocabulary of {len(self)} tokens")

    @classmethod
    def word_level(cls, captions: Iterable[str]) -> CaptionTokenizer:
        """The word-level tokenizer of ``captions`` (every word seen at least once)."""
        from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

        vocab = WordTokenizer.build(captions).vocab
        tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token=UNK))
        tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(_WORD.pattern), behavior="isolated"),
            pre_tokenizers.Split(Regex(r"^[^a-z0-9]+$"), behavior="removed"),  # the gaps between words
        ])
        return cls(tok, vocab.index(PAD))

    @classmethod
    def from_folder(cls, folder: str | Path) -> CaptionTokenizer:
        """A pretrained LLM folder's tokenizer (``tokenizer.json``; pad token from ``tokenizer_config.json``,
        else its end-of-sequence token)."""
        from tokenizers import Tokenizer

        folder = Path(folder)
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        settings_file = folder / "tokenizer_config.json"
        settings = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
        names = [settings.get(k) for k in ("pad_token", "eos_token")]
        names = [n["content"] if isinstance(n, dict) else n for n in names if n]
        ids = [tok.token_to_id(n) for n in names if tok.token_to_id(n) is not None]
        if not ids:
            raise ValueError(f"{folder}: tokenizer_config.json names no pad or eos token that tokenizer.json knows")
        return cls(tok, ids[0])

    def __len__(self) -> int:
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def ids(self, texts: Sequence[str | None], length: int) -> torch.Tensor:
        """int64 ``[len(texts), length]``: ids cut to ``length`` and padded with the pad id."""
        if isinstance(texts, str):
            raise TypeError("ids takes a list of texts, not one string")
        out = torch.full((len(texts), int(length)), self.pad_id, dtype=torch.long)
        for row, enc in enumerate(self.tokenizer.encode_batch([t or "" for t in texts], add_special_tokens=False)):
            kept = enc.ids[:length]
            out[row, : len(kept)] = torch.tensor(kept, dtype=torch.long)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tokenizers", "tokenizer": self.tokenizer.to_str(), "pad_id": self.pad_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptionTokenizer:
        from tokenizers import Tokenizer

        if data.get("type") != "tokenizers":
            raise ValueError(f"not a tokenizers caption tokenizer: type {data.get('type')!r} (a run made before the Qwen2 rebuild?)")
        return cls(Tokenizer.from_str(data["tokenizer"]), int(data["pad_id"]))


def caption_tokenizer(split: str) -> CaptionTokenizer:
    """The word-level tokenizer of a split's captions."""
    from v2abench.data.splits import load_split

    return CaptionTokenizer.word_level(c.caption or "" for c in load_split(split).clips)

"""v2abench.llm: transformers LLMs from a config, the caption tokenizer built with ``tokenizers``, and real
LLM weights from a local folder through the weights registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from v2abench import weights
from v2abench.encoders.text_tokenizer import WordTokenizer
from v2abench.llm.build import build_causal_lm, causal_lm_from_dict, count_parameters
from v2abench.llm.tokenizer import CaptionTokenizer

ODD = ["A metal ball BOUNCES, twice!", "don't rock'n'roll 'hello' -- 3x", "Ünïcode É café  ", "", "...", "wood-block  slides;again"]
TINY_QWEN = {"vocab_size": 40, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}


def test_word_level_tokenizer_matches_the_word_tokenizer_on_every_caption(tiny_world: Path) -> None:
    from v2abench.data.splits import load_split

    captions = [c.caption or "" for c in load_split("synthfoley-tiny-train").clips]
    ours, reference = CaptionTokenizer.word_level(captions), WordTokenizer.build(captions)
    assert len(ours) == len(reference) and ours.pad_id == reference.pad_id
    tests = captions + [c.caption or "" for c in load_split("synthfoley-tiny-test").clips] + ODD
    for text in tests:
        row = ours.ids([text], 64)[0]
        expected = reference.ids(text)
        assert row[: len(expected)].tolist() == expected and row[len(expected):].eq(ours.pad_id).all(), text


def test_caption_ids_have_a_fixed_length_whatever_the_batch_and_survive_json() -> None:
    tok = CaptionTokenizer.word_level(["a metal ball bounces", "a wooden block slides on the floor"])
    alone = tok.ids(["a metal ball bounces"], 6)
    batched = tok.ids(["a wooden block slides on the floor twice more", "a metal ball bounces", None], 6)
    assert alone.shape == (1, 6) and batched.shape == (3, 6) and batched.dtype == torch.long
    assert torch.equal(alone[0], batched[1])
    assert batched[2].eq(tok.pad_id).all() and batched[0].ne(tok.pad_id).all()
    again = CaptionTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert torch.equal(again.ids(["a wooden ball", "zebra"], 4), tok.ids(["a wooden ball", "zebra"], 4))
    with pytest.raises(ValueError, match="before the Qwen2 rebuild"):
        CaptionTokenizer.from_dict(WordTokenizer.build(["a b"]).to_dict())


def test_build_causal_lm_from_a_config_guards_keys_and_names() -> None:
    torch.manual_seed(0)
    qwen = build_causal_lm("qwen2", **TINY_QWEN, tie_word_embeddings=True)
    assert type(qwen).__name__ == "Qwen2ForCausalLM" and qwen.config._attn_implementation == "sdpa"
    # GQA: 4 query heads of size 4 share 2 key/value heads -> k_proj maps 16 -> 8
    assert qwen.model.layers[0].self_attn.k_proj.weight.shape == (8, 16)
    # tied embeddings count once: 40x16 + 2 layers x (q 272 + k 136 + v 136 + o 256 + mlp 1536 + norms 32) + norm 16
    assert count_parameters(qwen) == 40 * 16 + 2 * (272 + 136 + 136 + 256 + 3 * 16 * 32 + 32) + 16
    gemma = build_causal_lm("gemma", **TINY_QWEN, head_dim=4)  # the VATT converter's family
    assert type(gemma).__name__ == "GemmaForCausalLM"
    with pytest.raises(ValueError, match="hidden_sizes"):
        build_causal_lm("qwen2", hidden_sizes=16)
    with pytest.raises(KeyError, match="Did you mean: qwen2"):
        build_causal_lm("qwen-2")
    rebuilt = causal_lm_from_dict(qwen.config.to_dict())
    assert rebuilt.config.to_dict() == qwen.config.to_dict() and count_parameters(rebuilt) == count_parameters(qwen)


def test_missing_llm_folder_names_the_import_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from v2abench.llm.pretrained import load_pretrained_causal_lm

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    with pytest.raises(weights.MissingWeightsError, match=r"v2abench weights import qwen2.5-7b FOLDER"):
        load_pretrained_causal_lm("qwen2.5-7b")
    with pytest.raises(ConnectionError, match="weights import qwen2.5-7b"):
        weights.fetch("qwen2.5-7b")


def test_llm_folder_imports_verifies_and_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real folder (save_pretrained + a tokenizer.json) goes through `weights import`, then loads key for key."""
    from dataclasses import replace

    from v2abench.llm.pretrained import load_pretrained_causal_lm, pretrained_caption_tokenizer

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setitem(weights.WEIGHTS, "tiny-qwen", replace(weights.WEIGHTS["qwen2.5-0.5b"], name="tiny-qwen"))
    torch.manual_seed(1)
    source = tmp_path / "tiny-qwen"
    model = build_causal_lm("qwen2", **TINY_QWEN)
    model.save_pretrained(source)
    tok = CaptionTokenizer.word_level(["a metal ball bounces"])
    tok.tokenizer.save(str(source / "tokenizer.json"))
    (source / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>"}))
    weights.import_file("tiny-qwen", source)
    assert weights.verify("tiny-qwen")[0]
    loaded = load_pretrained_causal_lm("tiny-qwen")
    reference = model.state_dict()
    assert all(torch.equal(value, reference[key]) for key, value in loaded.state_dict().items())
    assert torch.equal(pretrained_caption_tokenizer("tiny-qwen").ids(["a ball"], 3), tok.ids(["a ball"], 3))
    # DreamFoley with `llm: {weights: NAME}` starts from the folder's backbone and tokenizer
    from v2abench.config import load_yaml
    from v2abench.models.dreamfoley import DreamFoleyModule, tokenizer_of
    from v2abench.paths import configs_dir

    cfg = load_yaml(configs_dir() / "models" / "dreamfoley" / "tiny.yaml") | {"llm": {"weights": "tiny-qwen"}}
    module = DreamFoleyModule(cfg, 24, 4, 64, 50.0, tokenizer_of(cfg), 25.0)
    assert all(torch.equal(value, reference[f"model.{key}"]) for key, value in module.lm.llm.state_dict().items())
    assert module.tokenizer.to_dict() == tok.to_dict()
    (weights.WEIGHTS["tiny-qwen"].path / "config.json").write_text("{}")  # tampered: the folder hash changes
    assert not weights.verify("tiny-qwen")[0]

"""DreamFoley on the transformers Qwen2 classes: the dual encoder, KV-cached decoding through the library's
cache, CFG in one doubled batch, batch independence, the paper architecture's size, and training from the
CLI, VTA and text-controlled VTA generation and evaluation at tiny scale."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from v2abench import media
from v2abench.cli import app
from v2abench.config import load_yaml
from v2abench.encoders.dual import DualVisualEncoder, upsample_to
from v2abench.encoders.thumbnail import ThumbnailEncoder
from v2abench.evaluation import evaluate_model
from v2abench.interface import Task, V2ABatch
from v2abench.llm.build import count_parameters
from v2abench.llm.tokenizer import CaptionTokenizer
from v2abench.lm.decoding import SamplingConfig, generate_codes
from v2abench.models.dreamfoley import DreamFoleyModule
from v2abench.paths import configs_dir

runner = CliRunner()
CAPTIONS = ["a metal ball bounces", "a wooden block slides on the floor", "glass taps twice"]
DECODE = {"visual_fps": 25.0, "frame_rate": 50.0, "causal_prefix": True}


def _gens(seeds: list[int]) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in seeds]


@pytest.fixture(scope="module")
def tiny() -> DreamFoleyModule:
    """The tiny config's module, untrained, its heads sharpened (x30) so that any change of the logits shows
    in the sampled tokens instead of vanishing in near-uniform distributions."""
    cfg = load_yaml(configs_dir() / "models" / "dreamfoley" / "tiny.yaml")
    torch.manual_seed(0)
    module = DreamFoleyModule(cfg, 24, 4, 64, 50.0, CaptionTokenizer.word_level(CAPTIONS), 25.0).eval()
    with torch.no_grad():
        for head in module.lm.heads:
            head.weight.mul_(30.0)
    return module


def _conditions(module: DreamFoleyModule, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    visual = torch.randn(n, 25, 24, generator=torch.Generator().manual_seed(seed))
    ids = module.tokenizer.ids(CAPTIONS[:n], module.text_length)  # type: ignore[union-attr]
    with torch.no_grad():
        return module.prefix(visual, text_ids=ids), module.empty_prefix(visual)


def test_upsample_pairs_each_sync_frame_with_the_semantic_frame_covering_it() -> None:
    sem = torch.arange(4.0).view(1, 4, 1)  # 4 frames at 5 fps = 0.8 s
    up = upsample_to(sem, 5.0, 25.0, 20)
    assert up.shape == (1, 20, 1)
    assert up[0, :, 0].tolist() == [0.0] * 5 + [1.0] * 5 + [2.0] * 5 + [3.0] * 5


def test_dual_encoder_concatenates_streams_at_the_sync_rate() -> None:
    frames = torch.randint(0, 256, (2, 50, 3, 16, 16), dtype=torch.uint8)  # 2 s at 25 fps
    sem, sync = ThumbnailEncoder(size=2, fps=5), ThumbnailEncoder(size=3, fps=25)
    dual = DualVisualEncoder(sem, sync)
    out = dual.encode(frames, 25.0)
    assert dual.fps == 25.0 and dual.dim == 12 + 27 and out.shape == (2, 50, 39)
    assert torch.equal(out[:, :, 12:], sync.encode(frames, 25.0))
    assert torch.equal(out[:, 7, :12], sem.encode(frames, 25.0)[:, 1])  # frame 7 (0.28 s) -> semantic frame 1


def test_cached_decoding_equals_full_recomputation(tiny: DreamFoleyModule) -> None:
    from transformers import DynamicCache

    lm = tiny.lm
    prefix, null = _conditions(tiny, 2)
    n = prefix.shape[1]
    tokens = torch.randint(0, 64, (2, 4, 9), generator=torch.Generator().manual_seed(3))
    causal = torch.ones(n + 9, n + 9, dtype=torch.bool).tril()
    with torch.no_grad():
        full = lm(prefix, tokens, causal)
        cache = lm.new_cache()
        steps = [lm(prefix, tokens[:, :, :1], causal[: n + 1, : n + 1], cache)]
        for s in range(1, 9):
            steps.append(lm.extend(tokens[:, :, s : s + 1], cache, causal[n + s : n + s + 1, : n + s + 1]))
    assert isinstance(cache.kv, DynamicCache) and cache.length == n + 9
    torch.testing.assert_close(torch.cat(steps, dim=2), full, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="not causal"):  # FoleyGen's frame masks cannot reach a causal LLM silently
        lm(prefix, tokens, torch.ones_like(causal))
    # token for token, with CFG in the doubled batch
    config = {"cfg_scale": 3.0, "top_k": 25, "top_p": 0.9}
    cached, nfe = generate_codes(lm, prefix, null, 12, _gens([0, 1]), config=SamplingConfig(use_cache=True, **config), **DECODE)
    recomputed, _ = generate_codes(lm, prefix, null, 12, _gens([0, 1]), config=SamplingConfig(use_cache=False, **config), **DECODE)
    assert torch.equal(cached, recomputed) and nfe == 12 + 4 - 1
    assert cached.shape == (2, 4, 12) and cached.unique().numel() > 8  # real sampling, not a constant


def test_cfg_scale_one_is_the_conditional_stream_and_the_doubled_batch_does_not_mix(tiny: DreamFoleyModule) -> None:
    lm = tiny.lm
    prefix, null = _conditions(tiny, 2)
    one, nfe = generate_codes(lm, prefix, null, 12, _gens([0, 1]), config=SamplingConfig(cfg_scale=1.0), **DECODE)
    cond, _ = generate_codes(lm, prefix, None, 12, _gens([0, 1]), config=SamplingConfig(cfg_scale=3.0), **DECODE)
    guided, _ = generate_codes(lm, prefix, null, 12, _gens([0, 1]), config=SamplingConfig(cfg_scale=3.0), **DECODE)
    assert torch.equal(one, cond) and nfe == 12 + 4 - 1
    assert not torch.equal(guided, cond)  # guidance changes the tokens
    tokens = torch.randint(0, 64, (2, 4, 5))
    mask = torch.ones(prefix.shape[1] + 5, prefix.shape[1] + 5, dtype=torch.bool).tril()
    with torch.no_grad():
        doubled = lm(torch.cat([prefix, null]), tokens.repeat(2, 1, 1), mask)
        torch.testing.assert_close(doubled[:2], lm(prefix, tokens, mask), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(doubled[2:], lm(null, tokens, mask), atol=1e-5, rtol=1e-5)


def test_a_clips_tokens_do_not_depend_on_its_batch(tiny: DreamFoleyModule) -> None:
    prefix, null = _conditions(tiny, 3)
    batch, _ = generate_codes(tiny.lm, prefix, null, 10, _gens([5, 6, 7]), config=SamplingConfig(cfg_scale=3.0), **DECODE)
    alone, _ = generate_codes(tiny.lm, prefix[1:2], null[1:2], 10, _gens([6]), config=SamplingConfig(cfg_scale=3.0), **DECODE)
    assert torch.equal(alone[0], batch[1])


def test_paper_config_is_qwen25_7b_plus_audio_embeddings_and_heads() -> None:
    from v2abench.llm.build import build_causal_lm

    cfg = load_yaml(configs_dir() / "models" / "dreamfoley" / "paper.yaml")
    arch = {k: v for k, v in cfg["llm"].items() if k != "arch"}
    visual_dim = 1024 + 768  # EVA-CLIP-g/14 (open_clip EVA01-g-14, 1024-d) + Synchformer (768-d)
    with torch.device("meta"):
        qwen = build_causal_lm(cfg["llm"]["arch"], **arch)
        module = DreamFoleyModule(cfg, visual_dim, num_codebooks=8, card=1024, frame_rate=25.0, tokenizer=None, visual_fps=25.0)
    assert type(qwen).__name__ == "Qwen2ForCausalLM" and count_parameters(qwen) == 7_615_616_512  # Qwen2.5-7B
    llm = module.lm.llm.config
    assert (llm.num_hidden_layers, llm.hidden_size, llm.num_attention_heads, llm.num_key_value_heads, llm.intermediate_size) == (28, 3584, 28, 4, 18944)
    d = 3584
    text_head = 152_064 * d  # Qwen2.5-7B's untied word head: DreamFoley keeps the backbone only
    assert count_parameters(module.lm.llm) == 7_615_616_512 - text_head
    audio = 8 * 1025 * d + 8 * (d * 1024 + 1024)  # 8 codebook embeddings (+ '#') and 8 heads
    video = (visual_dim * d + d) + (d * d + d)  # the two-layer video MLP
    empty = d + 64 * d  # the empty video embedding and the 64-token empty caption
    assert count_parameters(module) == 7_615_616_512 - text_head + audio + video + empty == 7_148_883_968


def test_quick_config_is_a_main_row_size_qwen2(tiny_world: Path) -> None:
    """Main rows have 1.5-2.5 M trainable parameters (the frozen codec and SynthAV encoders not counted)."""
    from v2abench.llm.tokenizer import caption_tokenizer
    from v2abench.models.lm_components import build_codec, build_visual_encoder

    cfg = load_yaml(configs_dir() / "models" / "dreamfoley" / "quick.yaml")
    codec, encoder = build_codec(cfg["codec"]), build_visual_encoder(cfg["visual"])
    with torch.device("meta"):
        module = DreamFoleyModule(cfg, encoder.dim, codec.num_codebooks, codec.codebook_size, codec.frame_rate, caption_tokenizer("synthfoley-tiny-train"), encoder.fps)
    assert type(module.lm.llm).__name__ == "Qwen2Model" and module.lm.llm.config.num_key_value_heads < module.lm.llm.config.num_attention_heads
    assert 1_500_000 <= count_parameters(module, trainable_only=True) <= 2_500_000


def _train(steps: str = "3") -> Path:
    result = runner.invoke(app, ["train", "--model", "dreamfoley", "--config", "tiny", "--max-steps", steps])
    assert result.exit_code == 0, result.output
    return Path(result.output.strip().split("run: ")[-1].replace("\n", ""))


def test_train_generate_vta_and_text_controlled(tiny_world: Path, tmp_path: Path) -> None:
    import lightning as L

    from v2abench.models.dreamfoley import DreamFoley, DreamFoleyTrainable

    run = _train()
    gen = DreamFoley(str(run))
    assert gen.meta.tasks == (Task.VTA, Task.TC_VTA) and gen.run_meta["llm_config"]["model_type"] == "qwen2"
    # the Lightning steps moved the LLM and the audio embeddings away from their initialisation (seed 0)
    L.seed_everything(0, verbose=False)
    init = DreamFoleyTrainable().build_module(gen.cfg).state_dict()
    trained = gen.module.state_dict()
    for key in ("lm.llm.layers.0.self_attn.q_proj.weight", "lm.embeddings.0.weight", "visual_proj.0.weight"):
        assert not torch.equal(trained[key], init[key]), key
    module = gen.module
    visual = torch.randn(2, 25, gen.encoder.dim)
    ids = torch.tensor([[5, 6, 0, 0] + [0] * 12, [7, 0, 0, 0] + [0] * 12])
    # independent dropout: dropping the text keeps the video tokens and vice versa
    both = module.prefix(visual, text_ids=ids)
    no_text = module.prefix(visual, text_ids=ids, drop_text=torch.tensor([True, False]))
    no_video = module.prefix(visual, drop=torch.tensor([True, False]), text_ids=ids)
    assert torch.equal(no_text[0, 16:], both[0, 16:]) and torch.equal(no_text[0, :16], module.null_text[0])
    assert torch.equal(no_text[1], both[1])
    assert torch.equal(no_video[0, :16], both[0, :16]) and not torch.equal(no_video[0, 16:], both[0, 16:])
    frames = torch.randint(0, 256, (2, 25, 3, 32, 32), dtype=torch.uint8)
    batch = V2ABatch(ids=["a", "b"], frames=frames, fps=25.0, text=["a metal ball bounces", "a wooden block slides"])
    vta = gen.generate(batch, task=Task.VTA, duration=1.0, seed=0)
    tc = gen.generate(batch, task=Task.TC_VTA, duration=1.0, seed=0)
    assert vta.audio.shape == tc.audio.shape == (2, 1, 16000)
    assert not torch.equal(vta.audio, tc.audio)  # the caption reaches the model in TC-VTA only
    again = gen.generate(V2ABatch(ids=["b"], frames=frames[1:], fps=25.0, text=batch.text[1:]), task=Task.TC_VTA, duration=1.0, seed=0)
    assert torch.allclose(again.audio[0], tc.audio[1], atol=1e-5)  # a clip's audio does not depend on its batch
    out = tmp_path / "tc.wav"
    result = runner.invoke(app, ["generate", "--model", "dreamfoley", "--ckpt", str(run), "--video", str(tiny_world / "test" / "00001.mp4"),
                                 "--out", str(out), "--text", "a small wooden block hits the floor"])
    assert result.exit_code == 0, result.output
    assert media.decode_audio(out, sample_rate=16000)[0].abs().max() > 0  # --text implies text-controlled VTA
    _, res = evaluate_model("dreamfoley", "synthfoley-tiny-test-tc", ckpt=str(run), limit=2, metrics=["onset_acc", "nfe"])
    assert res.metrics["onset_acc"].n == 2 and res.board["table"] == "tc_vta"

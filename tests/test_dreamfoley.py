"""DreamFoley at tiny scale: the dual encoder, caption ids, the causal prefix, independent CFG dropout,
training from the CLI, VTA and text-controlled VTA generation and evaluation."""

from __future__ import annotations

from pathlib import Path

import torch
from typer.testing import CliRunner

from v2abench import media
from v2abench.cli import app
from v2abench.encoders.dual import DualVisualEncoder, upsample_to
from v2abench.encoders.thumbnail import ThumbnailEncoder
from v2abench.encoders.text_tokenizer import WordTokenizer
from v2abench.evaluation import evaluate_model
from v2abench.interface import Task, V2ABatch
from v2abench.lm import DelayLM, VisualMask, prefix_lm_mask
from v2abench.lm.decoding import SamplingConfig, generate_codes

runner = CliRunner()


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


def test_caption_ids_have_a_fixed_length_whatever_the_batch() -> None:
    from v2abench.models.lm_components import caption_ids

    tok = WordTokenizer.build(["a metal ball bounces", "a wooden block slides on the floor"])
    alone = caption_ids(tok, ["a metal ball bounces"], 6)
    batched = caption_ids(tok, ["a wooden block slides on the floor twice more", "a metal ball bounces", None], 6)
    assert alone.shape == (1, 6) and batched.shape == (3, 6)
    assert torch.equal(alone[0], batched[1])
    assert batched[2].eq(tok.pad_id).all() and batched[0].ne(tok.pad_id).all()


def test_causal_prefix_mask_and_kv_cache_decoding_agree() -> None:
    mask = prefix_lm_mask(3, 2, 25.0, 50.0, VisualMask.ALL_FRAME, causal_prefix=True)
    assert mask[:3, :3].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert mask[3:, :3].all() and not mask[:3, 3:].any()
    torch.manual_seed(0)
    lm = DelayLM(2, 8, 16, 2, 2).eval()
    prefix, null = torch.randn(2, 5, 16), torch.randn(2, 5, 16)
    gens = lambda: [torch.Generator().manual_seed(i) for i in range(2)]  # noqa: E731
    kw = {"visual_fps": 25.0, "frame_rate": 50.0, "causal_prefix": True}
    cached, _ = generate_codes(lm, prefix, null, 6, gens(), config=SamplingConfig(cfg_scale=2.0, use_cache=True), **kw)
    full, _ = generate_codes(lm, prefix, null, 6, gens(), config=SamplingConfig(cfg_scale=2.0, use_cache=False), **kw)
    assert torch.equal(cached, full)


def _train(steps: str = "3") -> Path:
    result = runner.invoke(app, ["train", "--model", "dreamfoley", "--config", "tiny", "--max-steps", steps])
    assert result.exit_code == 0, result.output
    return Path(result.output.strip().split("run: ")[-1].replace("\n", ""))


def test_train_generate_vta_and_text_controlled(tiny_world: Path, tmp_path: Path) -> None:
    from v2abench.models.dreamfoley import DreamFoley

    run = _train()
    gen = DreamFoley(str(run))
    assert gen.meta.tasks == (Task.VTA, Task.TC_VTA) and gen.run_meta["tokenizer"]["vocab"][:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
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

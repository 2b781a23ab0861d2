"""FoleyGen end to end at tiny scale: Lightning training from the CLI, generation, evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from v2abench import media
from v2abench.cli import app
from v2abench.evaluation import evaluate_model

runner = CliRunner()


def _train(tmp: str = "3") -> Path:
    result = runner.invoke(app, ["train", "--model", "foleygen", "--config", "tiny", "--max-steps", tmp])
    assert result.exit_code == 0, result.output
    return Path(result.output.strip().split("run: ")[-1].replace("\n", ""))


def test_train_generate_and_evaluate(tiny_world: Path, tmp_path: Path) -> None:
    run = _train()
    assert (run / "model.safetensors").is_file()
    video = tiny_world / "test" / "00001.mp4"
    out = tmp_path / "foley.mp4"
    result = runner.invoke(app, ["generate", "--model", "foleygen", "--ckpt", str(run), "--video", str(video), "--out", str(out)])
    assert result.exit_code == 0, result.output
    clip = media.decode_clip(out, sample_rate=16000)
    assert clip.frames is not None and clip.audio is not None and clip.audio.abs().max() > 0
    _, res = evaluate_model("foleygen", "synthfoley-tiny-test", ckpt=str(run), limit=2, metrics=["onset_acc", "nfe"])
    assert res.metrics["onset_acc"].n == 2
    assert res.metrics["nfe"].value == 200 + 4 - 1  # 4 s at 50 Hz + 4-step delay, one batched CFG pass per step
    assert res.model["checkpoint_sha256"] and res.model["paradigm"] == "autoregressive"
    assert res.training["steps"] == 3 and res.training["preset"] == "tiny" and res.training["fit_seconds"] > 0


def test_missing_checkpoint_names_the_command(tiny_world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import v2abench.training.shipped as shipped

    monkeypatch.setattr(shipped, "SHIPPED_ASSETS", {})  # as for a backend that ships no checkpoint and has no run
    result = runner.invoke(app, ["eval", "--model", "foleygen", "--split", "synthfoley-tiny-test"])
    assert result.exit_code == 2 and "v2abench train --model foleygen --config quick" in result.output


def test_paper_config_parameter_count_on_meta_device() -> None:
    from v2abench.config import load_yaml
    from v2abench.models.foleygen import FoleyGenModule
    from v2abench.paths import configs_dir

    cfg = load_yaml(configs_dir() / "models" / "foleygen" / "paper.yaml")
    with torch.device("meta"):
        module = FoleyGenModule(cfg, visual_dim=512, num_codebooks=4, card=2048, frame_rate=50.0)
    params = sum(p.numel() for p in module.parameters())
    # derived from the published architecture (24 x 1024, 16 heads, 4 x 2048 codes, CLIP ViT-B/32 512-d):
    # embeddings 4*2049*1024 + 24 blocks * 12,596,224 + final norm 2048 + heads 4*(1024*2048+2048)
    # + visual projection 512*1024+1024 + null prefix 1024
    assert params == 4 * 2049 * 1024 + 24 * 12_596_224 + 2048 + 4 * (1024 * 2048 + 2048) + (512 * 1024 + 1024) + 1024 == 319_627_264
    assert len(module.lm.blocks) == 24 and module.lm.dim == 1024

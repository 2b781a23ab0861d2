"""Generator metadata, batches, per-clip randomness and the registry."""

from __future__ import annotations

import pytest
import torch

from v2abench.interface import GenerationOutput, GeneratorMeta, Task, UnsupportedTaskError, V2ABatch, check_task, clip_rng
from v2abench.registry import REGISTRY, Registry, RegistryError


def test_meta_is_validated() -> None:
    GeneratorMeta("ok-name", "baseline", "1", 16000, 10.0, (Task.VTA,))
    with pytest.raises(ValueError):
        GeneratorMeta("Bad Name", "baseline", "1", 16000, 10.0, (Task.VTA,))
    with pytest.raises(ValueError):
        GeneratorMeta("x", "quantum", "1", 16000, 10.0, (Task.VTA,))
    with pytest.raises(ValueError):
        GeneratorMeta("x", "baseline", "1", 16000, 10.0, ())
    with pytest.raises(ValueError):
        GeneratorMeta("x", "baseline", "1", 16000, 10.0, (Task.VTA,), checkpoint_sha256="abc")


def test_unsupported_task_raises() -> None:
    meta = GeneratorMeta("x", "baseline", "1", 16000, 10.0, (Task.VTA,))
    check_task(meta, Task.VTA)
    with pytest.raises(UnsupportedTaskError, match="caption"):
        check_task(meta, Task.CAPTION)


def test_batch_and_output_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="frames"):
        V2ABatch(ids=["a", "b"], frames=torch.zeros(3, 4, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError):
        GenerationOutput(torch.zeros(2, 100), 16000)


def test_clip_rng_independent_of_batching() -> None:
    a = torch.randn(5, generator=clip_rng(0, "clip-1"))
    b = torch.randn(5, generator=clip_rng(0, "clip-1"))
    c = torch.randn(5, generator=clip_rng(0, "clip-2"))
    d = torch.randn(5, generator=clip_rng(1, "clip-1"))
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, d)


def test_registry_duplicates_and_suggestions() -> None:
    reg = Registry()
    reg.register("foo", "generator", "v2abench.models.baselines:Silence")
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("foo", "generator", "v2abench.models.baselines:Noise")
    with pytest.raises(ValueError):
        reg.register("bar", "widget", "a:b")
    with pytest.raises(RegistryError, match="Did you mean: foo"):
        reg.get("fooo")
    with pytest.raises(RegistryError):
        reg.get("foo", kind="codec")


def test_builtin_generators_load_and_generate() -> None:
    batch = V2ABatch(
        ids=["a", "b"],
        frames=torch.zeros(2, 10, 3, 16, 16, dtype=torch.uint8),
        fps=25.0,
        reference_audio=torch.randn(2, 1, 16000),
        sample_rate=16000,
    )
    for name in ("ground-truth", "silence", "noise"):
        gen = REGISTRY.build(name, "generator")
        out = gen.generate(batch, duration=0.5, seed=0)
        assert out.audio.shape == (2, 1, 8000)
    gt = REGISTRY.build("ground-truth", "generator").generate(batch, duration=0.5, seed=0)
    assert torch.equal(gt.audio, batch.reference_audio[..., :8000])
    assert not REGISTRY.build("silence", "generator").generate(batch, duration=0.5, seed=0).audio.any()
    n1 = REGISTRY.build("noise", "generator").generate(batch, duration=0.5, seed=0).audio
    single = V2ABatch(ids=["b"], reference_audio=batch.reference_audio[1:], sample_rate=16000)
    n2 = REGISTRY.build("noise", "generator").generate(single, duration=0.5, seed=0).audio
    assert torch.equal(n1[1], n2[0])  # a clip's noise does not depend on its batch

"""The delay-pattern paradigm: pattern round trip, attention masks by hand, KV cache, CFG, overfitting."""

from __future__ import annotations

import pytest
import torch

from v2abench.lm import DelayLM, DelayPattern, VisualMask, prefix_lm_mask
from v2abench.lm.decoding import SamplingConfig, generate_codes
from v2abench.lm.sampling import filter_logits


@pytest.mark.parametrize("k,t", [(1, 1), (2, 5), (4, 7), (8, 3)])
def test_delay_pattern_round_trip_and_validity(k: int, t: int) -> None:
    pattern = DelayPattern(k, special_token=99)
    codes = torch.randint(0, 50, (2, k, t))
    seq, valid = pattern.build(codes)
    assert seq.shape == (2, k, t + k)
    assert torch.equal(pattern.revert(seq), codes)
    assert torch.equal(seq[:, ~valid], torch.full_like(seq[:, ~valid], 99))
    assert int(valid.sum()) == k * t
    for q in range(k):  # codebook q's first frame sits at step q + 1
        assert valid[q].nonzero()[0].item() == q + 1


def test_delay_pattern_drawn_example() -> None:
    seq, _ = DelayPattern(3, special_token=-1).build(torch.tensor([[[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]]]))
    assert seq[0].tolist() == [
        [-1, 0, 1, 2, 3, -1, -1],
        [-1, -1, 10, 11, 12, 13, -1],
        [-1, -1, -1, 20, 21, 22, 23],
    ]


def _allowed(mode: VisualMask) -> set[tuple[int, int]]:
    mask = prefix_lm_mask(num_visual=3, num_audio=4, visual_fps=1.0, frame_rate=1.0, mode=mode)
    return {(i, j) for i in range(4) for j in range(3) if mask[3 + i, j]}


def test_visual_masks_by_hand() -> None:
    # audio position i predicts step i+1, whose time is i seconds; visual token j is at j seconds
    assert _allowed(VisualMask.ALL_FRAME) == {(i, j) for i in range(4) for j in range(3)}
    assert _allowed(VisualMask.CAUSAL) == {(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1), (3, 2)}
    assert _allowed(VisualMask.FRAME_SPECIFIC) == {(0, 0), (1, 1), (2, 2), (3, 2)}
    mask = prefix_lm_mask(3, 4, 1.0, 1.0, VisualMask.CAUSAL)
    assert mask[:3, :3].all() and not mask[:3, 3:].any()  # visual tokens never see audio
    assert torch.equal(mask[3:, 3:], torch.tril(torch.ones(4, 4, dtype=torch.bool)))


def test_frame_specific_at_finer_audio_rate() -> None:
    mask = prefix_lm_mask(num_visual=2, num_audio=6, visual_fps=1.0, frame_rate=2.0, mode=VisualMask.FRAME_SPECIFIC)
    # audio times 0, .5, 1, 1.5, 2, 2.5 -> visual tokens 0, 0, 1, 1, 1 (clamped), 1 (clamped)
    assert [int(mask[2 + i, :2].float().argmax()) for i in range(6)] == [0, 0, 1, 1, 1, 1]


def _tiny_lm(seed: int = 0) -> DelayLM:
    torch.manual_seed(seed)
    return DelayLM(num_codebooks=3, card=16, dim=32, depth=2, heads=4).double().eval()


def _gens(n: int, seed: int = 0) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


@pytest.mark.parametrize("mode", list(VisualMask))
def test_kv_cache_equals_full_recomputation(mode: VisualMask) -> None:
    lm = _tiny_lm()
    prefix = torch.randn(2, 4, 32, dtype=torch.float64)
    null = torch.zeros(2, 4, 32, dtype=torch.float64)
    kw = dict(visual_fps=2.0, frame_rate=4.0, mask_mode=mode)
    cached, nfe_c = generate_codes(lm, prefix, null, 10, _gens(2), config=SamplingConfig(cfg_scale=2.0, use_cache=True), **kw)
    full, nfe_f = generate_codes(lm, prefix, null, 10, _gens(2), config=SamplingConfig(cfg_scale=2.0, use_cache=False), **kw)
    assert torch.equal(cached, full)
    assert cached.shape == (2, 3, 10) and int(cached.max()) < 16
    assert nfe_c == nfe_f == 10 + 3 - 1


def test_batched_cfg_equals_two_pass_and_scale_one_is_conditional() -> None:
    lm = _tiny_lm(1)
    prefix, null = torch.randn(2, 4, 32, dtype=torch.float64), torch.randn(2, 4, 32, dtype=torch.float64)
    kw = dict(visual_fps=2.0, frame_rate=4.0)
    batched, nfe_b = generate_codes(lm, prefix, null, 8, _gens(2), config=SamplingConfig(cfg_scale=3.0), **kw)
    two_pass, nfe_t = generate_codes(lm, prefix, null, 8, _gens(2), config=SamplingConfig(cfg_scale=3.0, two_pass=True), **kw)
    assert torch.equal(batched, two_pass) and nfe_t == 2 * nfe_b
    scale_one, _ = generate_codes(lm, prefix, null, 8, _gens(2), config=SamplingConfig(cfg_scale=1.0), **kw)
    conditional, _ = generate_codes(lm, prefix, None, 8, _gens(2), config=SamplingConfig(cfg_scale=3.0), **kw)
    assert torch.equal(scale_one, conditional)
    # a clip's tokens do not depend on the other clips in its batch
    alone, _ = generate_codes(lm, prefix[1:], null[1:], 8, _gens(1, seed=1), config=SamplingConfig(cfg_scale=3.0), **kw)
    assert torch.equal(alone[0], batched[1])


def test_top_k_and_top_p_filters() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(filter_logits(logits, top_k=2)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.7)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.85)).tolist() == [[True, True, True, False]]


def test_tiny_lm_overfits_one_batch() -> None:
    torch.manual_seed(0)
    lm = DelayLM(num_codebooks=2, card=8, dim=32, depth=2, heads=4)
    pattern = DelayPattern(2, lm.special_token)
    codes = torch.randint(0, 8, (4, 2, 12))
    seq, valid = pattern.build(codes)
    prefix = torch.randn(4, 3, 32)
    mask = prefix_lm_mask(3, seq.shape[-1] - 1, 1.0, 4.0, VisualMask.ALL_FRAME)
    opt = torch.optim.AdamW(lm.parameters(), lr=3e-3)
    for step in range(150):
        logits = lm(prefix, seq[:, :, :-1], mask)
        target = seq[:, :, 1:]
        keep = valid[:, 1:][None].expand_as(target)
        loss = torch.nn.functional.cross_entropy(logits[keep], target[keep])
        if step == 0:
            first = float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 1.5 and float(loss) < 0.1

"""The autoregressive delay-pattern paradigm shared by FoleyGen and DreamFoley."""

from v2abench.lm.attention_masks import VisualMask, prefix_lm_mask
from v2abench.lm.delay_pattern import DelayPattern
from v2abench.lm.transformer import DelayLM, KVCache
from v2abench.lm.sampling import sample_next

__all__ = ["DelayPattern", "VisualMask", "prefix_lm_mask", "DelayLM", "KVCache", "sample_next"]

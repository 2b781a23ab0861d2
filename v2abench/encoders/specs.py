"""Weights of the real visual encoders (entries for the weights registry, :mod:`v2abench.weights`).

open_clip checkpoints, as ``open_clip.pretrained`` resolves them: each tag points at a Hugging Face
Hub repository whose default file is ``open_clip_pytorch_model.bin``, the whole CLIP (image and text
towers) as a plain state dict. The Hub publishes no sha256 beside these links, so the entries are
unpinned: the sha256 seen at fetch/import is recorded in ``weights.lock.json`` (trust on first use).

    entry                            open_clip model   tag                  used by (paper configs)
    openclip-vit-b-32-laion2b        ViT-B-32          laion2b_s34b_b79k    FoleyGen (CLIP, 1 fps)
    openclip-eva02-b-16-merged2b     EVA02-B-16        merged2b_s8b_b131k   EVA-CLIP, base
    openclip-eva02-l-14-merged2b     EVA02-L-14        merged2b_s4b_b131k   VATT, Foley-Flow (EVA-CLIP)
"""

from __future__ import annotations

from dataclasses import dataclass

from v2abench.weights_spec import WeightsSpec

OPEN_CLIP_FILENAME = "open_clip_pytorch_model.bin"  # open_clip's default file for an 'org/repo/' hf_hub entry


@dataclass(frozen=True)
class OpenClipCheckpoint:
    """One open_clip pretrained tag: the registry entry, the model config and where the file lives."""

    weights_name: str
    model_name: str  # open_clip's built-in config (open_clip.list_models())
    tag: str  # open_clip.pretrained tag
    hf_hub: str  # Hugging Face Hub repository, from open_clip.pretrained.get_pretrained_cfg(model, tag)
    description: str = ""

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.hf_hub}/resolve/main/{OPEN_CLIP_FILENAME}"


OPEN_CLIP_CHECKPOINTS: tuple[OpenClipCheckpoint, ...] = (
    OpenClipCheckpoint("openclip-vit-b-32-laion2b", "ViT-B-32", "laion2b_s34b_b79k", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
                       "OpenCLIP ViT-B/32 trained on LAION-2B (34B samples); 512-d image embeddings at 224 px"),
    OpenClipCheckpoint("openclip-eva02-b-16-merged2b", "EVA02-B-16", "merged2b_s8b_b131k", "timm/eva02_base_patch16_clip_224.merged2b_s8b_b131k",
                       "EVA02-CLIP-B/16 (Merged-2B, 8B samples); 512-d image embeddings at 224 px"),
    OpenClipCheckpoint("openclip-eva02-l-14-merged2b", "EVA02-L-14", "merged2b_s4b_b131k", "timm/eva02_large_patch14_clip_224.merged2b_s4b_b131k",
                       "EVA02-CLIP-L/14 (Merged-2B, 4B samples); 768-d image embeddings at 224 px"),
)

# the checkpoint an open_clip model name loads when no weights name is given
DEFAULT_OPEN_CLIP_WEIGHTS: dict[str, str] = {c.model_name: c.weights_name for c in OPEN_CLIP_CHECKPOINTS}

ENCODER_WEIGHTS: tuple[WeightsSpec, ...] = tuple(
    WeightsSpec(c.weights_name, OPEN_CLIP_FILENAME, c.url, "", "MIT", description=f"{c.description} (open_clip {c.model_name} {c.tag})")
    for c in OPEN_CLIP_CHECKPOINTS
)


def open_clip_checkpoint(weights_name: str) -> OpenClipCheckpoint | None:
    """The open_clip checkpoint behind a registry entry (None for entries this table does not know)."""
    return next((c for c in OPEN_CLIP_CHECKPOINTS if c.weights_name == weights_name), None)

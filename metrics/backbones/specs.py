"""Weights of the metric backbones (entries of the weights registry, :mod:`v2abench.weights`).

``expected`` is the hash the publisher gives, where there is one: torchvggish (like torch.hub)
puts the first 8 hex digits of the file's sha256 in its name. PANNs (Zenodo) and PaSST (GitHub
release) publish no sha256, so those entries are unpinned: the sha256 seen at fetch/import is
recorded in ``weights.lock.json`` (trust on first use). Resemblyzer's weights ship inside its pip
package and have no entry here.
"""

from __future__ import annotations

from v2abench.weights_spec import WeightsSpec

BACKBONE_WEIGHTS: tuple[WeightsSpec, ...] = (
    WeightsSpec(
        "vggish",
        "vggish-10086976.pth",
        "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
        "10086976",
        "Apache-2.0",
        description="VGGish (AudioSet), torchvggish port of the TensorFlow release; fad@vggish",
    ),
    WeightsSpec(
        "panns-cnn14-16k",
        "Cnn14_16k_mAP=0.438.pth",
        "https://zenodo.org/record/3987831/files/Cnn14_16k_mAP%3D0.438.pth",
        "",
        "see Zenodo record 3987831 (PANNs code: MIT)",
        description="PANNs CNN14, 16 kHz, AudioSet mAP 0.438; fd/kl/is@panns",
    ),
    WeightsSpec(
        "passt-s-swa-ap476",
        "passt-s-f128-p16-s10-ap.476-swa.pt",
        "https://github.com/kkoutini/PaSST/releases/download/v0.0.1-audioset/passt-s-f128-p16-s10-ap.476-swa.pt",
        "",
        "Apache-2.0",
        description="PaSST-S (passt_s_swa_p16_128_ap476, hear21passt), AudioSet mAP 0.476; fd/kl/is@passt",
    ),
    WeightsSpec(
        "imagebind-huge",
        "imagebind_huge.pth",
        "https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth",
        "",
        "CC-BY-NC-4.0 (ImageBind code and weights)",
        description="ImageBind huge (all six towers; the vision and audio towers are used); ib@imagebind",
    ),
    WeightsSpec(
        "synchformer",
        "synchformer_state_dict.pth",
        "https://github.com/hkchengrex/MMAudio/releases/download/v0.1/synchformer_state_dict.pth",
        "",
        "MIT (Synchformer; file released with MMAudio)",
        description="Synchformer (AudioSet) state dict as av-benchmark/MMAudio load it (MMAudio lists md5 5b2f5594b0730f70e41e549b7c94390c); desync@synchformer",
    ),
    WeightsSpec(
        "laion-clap-music-speech-audioset",
        "music_speech_audioset_epoch_15_esc_89.98.pt",
        "https://huggingface.co/lukewys/laion_clap/resolve/main/music_speech_audioset_epoch_15_esc_89.98.pt",
        "",
        "see huggingface.co/lukewys/laion_clap (LAION-AI/CLAP code: CC0-1.0)",
        description="LAION-CLAP HTSAT-base + RoBERTa-base, no fusion (music, speech, AudioSet; ESC-50 89.98%); clap@laion, clap_audio@laion",
    ),
    WeightsSpec(
        "roberta-base-tokenizer-vocab",
        "vocab.json",
        "https://huggingface.co/FacebookAI/roberta-base/resolve/main/vocab.json",
        "",
        "MIT",
        description="RoBERTa-base BPE vocabulary (LAION-CLAP's text tokenizer; the network's config is in our code); clap@laion",
    ),
    WeightsSpec(
        "roberta-base-tokenizer-merges",
        "merges.txt",
        "https://huggingface.co/FacebookAI/roberta-base/resolve/main/merges.txt",
        "",
        "MIT",
        description="RoBERTa-base BPE merges (LAION-CLAP's text tokenizer); clap@laion",
    ),
)

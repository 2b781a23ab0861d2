"""One registry of everything trainable or loadable, with lazy ``"module:attr"`` targets.

Each entry declares its kind (``generator``, ``codec``, ``encoder`` or ``probe``). Registering a name
twice is an error; an unknown name gets "did you mean" suggestions. Built-in entries are declared in
:data:`BUILTIN` so that listing them imports nothing heavy until an entry is loaded.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Callable

KINDS = ("generator", "codec", "encoder", "probe")


class RegistryError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    target: str  # "package.module:attr"; attr is a class or factory taking keyword options
    description: str = ""
    trainer: str | None = None  # "package.module:attr" of a Trainable (None: not trainable)

    @property
    def trainable(self) -> bool:
        return self.trainer is not None

    def load_trainer(self) -> Any:
        if self.trainer is None:
            raise RegistryError(f"{self.name} is not trainable")
        module_name, _, attr = self.trainer.partition(":")
        return getattr(importlib.import_module(module_name), attr)()

    def load(self) -> Callable[..., Any]:
        module_name, _, attr = self.target.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, kind: str, target: str, description: str = "", trainer: str | None = None) -> Entry:
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {KINDS}")
        if ":" not in target:
            raise ValueError(f"target {target!r} must look like 'package.module:attr'")
        if name in self._entries:
            raise RegistryError(f"{name!r} is already registered (as {self._entries[name].target})")
        entry = Entry(name, kind, target, description, trainer)
        self._entries[name] = entry
        return entry

    def get(self, name: str, kind: str | None = None) -> Entry:
        entry = self._entries.get(name)
        if entry is None or (kind is not None and entry.kind != kind):
            pool = self.names(kind)
            close = difflib.get_close_matches(name, pool, n=3, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            what = kind or "entry"
            raise RegistryError(f"unknown {what} {name!r}.{hint} Known: {', '.join(pool) or 'none'}")
        return entry

    def names(self, kind: str | None = None) -> list[str]:
        return sorted(n for n, e in self._entries.items() if kind is None or e.kind == kind)

    def entries(self, kind: str | None = None) -> list[Entry]:
        return [self._entries[n] for n in self.names(kind)]

    def build(self, name: str, kind: str | None = None, **options: Any) -> Any:
        """Import the entry's target and call it with ``options``."""
        return self.get(name, kind).load()(**options)

    def __contains__(self, name: object) -> bool:
        return name in self._entries


BUILTIN: tuple[tuple[str, ...], ...] = (
    ("ground-truth", "generator", "v2abench.models.baselines:GroundTruth", "returns the reference audio (ceiling)"),
    ("ground-truth-synth-rvq", "generator", "v2abench.models.baselines:GroundTruthSynthRVQ", "reference audio after a synth-rvq round trip (codec ceiling)"),
    ("ground-truth-synth-latent", "generator", "v2abench.models.baselines:GroundTruthSynthLatent", "reference audio after a synth-latent round trip (codec ceiling)"),
    ("silence", "generator", "v2abench.models.baselines:Silence", "all-zero audio (floor)"),
    ("noise", "generator", "v2abench.models.baselines:Noise", "white Gaussian noise, seeded per clip (floor)"),
    ("retrieval", "generator", "v2abench.models.baselines:Retrieval", "audio of the nearest train clip by a visual descriptor"),
    ("foleygen", "generator", "v2abench.models.foleygen:FoleyGen", "FoleyGen: delay-pattern LM with a visual prefix", "v2abench.models.foleygen:FoleyGenTrainable"),
    ("dreamfoley", "generator", "v2abench.models.dreamfoley:DreamFoley", "DreamFoley: one causal LM over text, dual-encoder video and delayed audio tokens", "v2abench.models.dreamfoley:DreamFoleyTrainable"),
    ("synthav", "encoder", "v2abench.encoders.synthav_load:load_synthav", "SynthAV encoders for SynthFoley: semantic 5 fps x 128, sync 25 fps x 64, word-level text", "v2abench.encoders.synthav_training:SynthAVTrainable"),
    ("encodec-24khz", "codec", "v2abench.codecs.pretrained:encodec_24khz", "EnCodec 24 kHz (local weights)"),
    ("dac-16khz", "codec", "v2abench.codecs.pretrained:dac_16khz", "DAC 16 kHz (local weights)"),
    ("dac-24khz", "codec", "v2abench.codecs.pretrained:dac_24khz", "DAC 24 kHz (local weights)"),
    ("dac-44khz", "codec", "v2abench.codecs.pretrained:dac_44khz", "DAC 44.1 kHz (local weights)"),
    ("audiogen-encodec-16khz", "codec", "v2abench.codecs.pretrained:audiogen_encodec_16khz", "AudioGen's EnCodec 16 kHz, 4 x 2048, 50 Hz (local weights)"),
    ("open-clip", "encoder", "v2abench.encoders.open_clip_image:OpenClipImageEncoder", "open_clip CLIP / EVA-CLIP image towers (local weights)"),
    ("synthprobe", "probe", "v2abench.probes.load:load_synthprobe", "SynthFoley evaluation probe (trained on the probe split only)", "v2abench.probes.training:SynthProbeTrainable"),
    ("synth-rvq", "codec", "v2abench.codecs.synth:load_synth_rvq", "SynthFoley discrete codec: 16 kHz, 50 Hz, 4 x 1024 RVQ", "v2abench.codecs.training:SynthRVQTrainable"),
    ("synth-latent", "codec", "v2abench.codecs.synth:load_synth_latent", "SynthFoley latent autoencoder: 16 kHz, 50 Hz, 8 channels", "v2abench.codecs.training:SynthLatentTrainable"),
)

REGISTRY = Registry()
for _row in BUILTIN:
    REGISTRY.register(*_row)

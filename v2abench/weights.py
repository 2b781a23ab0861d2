"""The weights registry: every pretrained file the suite knows, and the only way it loads them.

Each :class:`WeightsSpec` names a file with its download URL, its sha256 (or the hash prefix its
publisher puts in the file name, e.g. EnCodec's ``d7cc33bc``), its size when known and its licence.
Files live in ``$V2ABENCH_HOME/weights/<name>/<filename>``. Loading never downloads: a missing file
raises :class:`MissingWeightsError` naming ``v2abench weights fetch NAME`` (and ``import``).

Where the publisher gives no hash, ``expected`` is empty and the sha256 observed when the file is
fetched or imported is recorded in ``weights.lock.json`` beside it (trust on first use); ``verify``
then checks the file against that record and says that it is unpinned.

Entries of ``kind="folder"`` (pretrained LLM folders, :mod:`v2abench.llm.specs`) are imported as a whole
folder; their sha256 is that of the folder's sorted ``relative-path sha256`` lines (:func:`sha256_folder`),
and they are never fetched: the Hub serves them as many files, so the user downloads them with the Hub's
own tools and runs ``v2abench weights import NAME FOLDER``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from v2abench import paths
from v2abench.artefacts import sha256_file
from v2abench.atomic import atomic_path, write_json
from v2abench.encoders.specs import ENCODER_WEIGHTS
from v2abench.llm.specs import LLM_WEIGHTS
from v2abench.metrics.backbones.specs import BACKBONE_WEIGHTS
from v2abench.weights_spec import WeightsSpec

log = logging.getLogger(__name__)


class MissingWeightsError(FileNotFoundError):
    pass


class WeightsHashError(ValueError):
    pass


WEIGHTS: dict[str, WeightsSpec] = {
    spec.name: spec
    for spec in (
        WeightsSpec("encodec-24khz", "encodec_24khz-d7cc33bc.th", "https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th", "d7cc33bc", "MIT", description="EnCodec 24 kHz (encodec package)"),
        WeightsSpec("dac-16khz", "weights_16khz.pth", "https://github.com/descriptinc/descript-audio-codec/releases/download/0.0.5/weights_16khz.pth", "", "MIT", description="DAC 16 kHz"),
        WeightsSpec("dac-24khz", "weights_24khz.pth", "https://github.com/descriptinc/descript-audio-codec/releases/download/0.0.4/weights_24khz.pth", "", "MIT", description="DAC 24 kHz"),
        WeightsSpec("dac-44khz", "weights_44khz.pth", "https://github.com/descriptinc/descript-audio-codec/releases/download/0.0.1/weights.pth", "", "MIT", description="DAC 44.1 kHz"),
        WeightsSpec("audiogen-encodec-16khz", "compression_state_dict.bin", "https://huggingface.co/facebook/audiogen-medium/resolve/main/compression_state_dict.bin", "", "CC-BY-NC-4.0", description="AudioGen's 16 kHz EnCodec (4 x 2048, 50 Hz), used by FoleyGen and VATT"),
        *BACKBONE_WEIGHTS,
        *ENCODER_WEIGHTS,
        *LLM_WEIGHTS,
    )
}


# Assets trained by the suite and shipped inside the package (v2abench/assets/<name>.safetensors),
# with the sha256 of each version; `v2abench weights verify` and the tests check the files against it.
SHIPPED_ASSETS: dict[str, str] = {
    "synth-rvq-v1": "c9472227d27227aefcff4c12c0761c0e13a10137fe309b1f8a9935d2da59336b",
    "synth-latent-v1": "8b83ddb1e34b0f4ab346007c403299aad48c3f2f45799813003f4a8374c0f3f6",
    "synthav-v1": "7394a6d8b9b3d1a8a658e7e6e54e6d3240e307fa369df9af22896c3f5fef6a1a",
    "synthprobe-v1": "cfe9e91c3bb1e2290ef6b07e75a3485dd0e1021b193e563da4bb784c3dbe0f0d",
    "synthprobe-v2": "ff120f61589c82340ff795126d0e4ccdd0a7d272498d77282d203d8cd6eea04b",
    "foleygen-quick-v1": "574c51d9ba52e078d3c8dc29e15b580c05c0487326988ec9e895cfb74f457d3e",
}


def shipped_asset_path(name: str) -> Path:
    return Path(__file__).resolve().parent / "assets" / f"{name}.safetensors"


def get_spec(name: str) -> WeightsSpec:
    if name not in WEIGHTS:
        import difflib

        close = difflib.get_close_matches(name, list(WEIGHTS), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown weights {name!r}.{hint} See `v2abench weights list`.")
    return WEIGHTS[name]




def sha256_folder(folder: Path) -> str:
    """sha256 of the lines ``<relative path> <sha256>``, one per file of ``folder``, sorted by path."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    lines = "".join(f"{p.relative_to(folder).as_posix()} {sha256_file(p)}\n" for p in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def _lock_path() -> Path:
    return paths.weights_dir() / "weights.lock.json"


def _lock() -> dict[str, str]:
    p = _lock_path()
    return json.loads(p.read_text()) if p.is_file() else {}


def check_hash(spec: WeightsSpec, path: Path) -> str:
    """Return the file's sha256; raise :class:`WeightsHashError` when it contradicts the spec or lock."""
    sha = sha256_folder(path) if spec.kind == "folder" else sha256_file(path)
    recorded = spec.expected or _lock().get(spec.name, "")
    if recorded and not sha.startswith(recorded):
        raise WeightsHashError(f"{path}: sha256 {sha[:12]}… does not match {spec.name}'s {recorded[:12]}…")
    return sha


def _record(spec: WeightsSpec, sha: str) -> None:
    if not spec.pinned:
        lock = _lock()
        lock[spec.name] = sha
        write_json(_lock_path(), lock)


def require(name: str) -> Path:
    """The local path of weights ``name``; never downloads."""
    spec = get_spec(name)
    if spec.kind == "folder" and not spec.present:
        raise MissingWeightsError(
            f"weights {name!r} are not on this machine ({spec.path}); download the folder {spec.url} with the Hub's tools "
            f"(it is never downloaded by v2abench) and run `v2abench weights import {name} FOLDER`"
        )
    if not spec.present:
        raise MissingWeightsError(
            f"weights {name!r} are not on this machine ({spec.path}); run `v2abench weights fetch {name}` "
            f"or, with a copy obtained elsewhere, `v2abench weights import {name} PATH`"
        )
    return spec.path


def import_file(name: str, source: Path) -> Path:
    """Copy a file (a folder, for ``kind="folder"`` entries) the user obtained elsewhere into the registry
    after checking its hash."""
    spec = get_spec(name)
    if spec.kind == "folder":
        return _import_folder(spec, Path(source))
    if not Path(source).is_file():
        raise FileNotFoundError(f"{source} does not exist")
    sha = check_hash(spec, Path(source))
    with atomic_path(spec.path) as tmp:
        shutil.copyfile(source, tmp)
    _record(spec, sha)
    return spec.path


def _import_folder(spec: WeightsSpec, source: Path) -> Path:
    if not (source / "config.json").is_file() or not any(source.glob("*.safetensors")):
        raise FileNotFoundError(f"{source} is not a model folder (it needs config.json and *.safetensors files)")
    sha = check_hash(spec, source)
    tmp = spec.path.with_name(f".{spec.name}.importing")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    shutil.rmtree(spec.path, ignore_errors=True)
    tmp.rename(spec.path)
    _record(spec, sha)
    return spec.path


def fetch(name: str, timeout: float = 10.0) -> Path:
    """Download ``name`` with a progress bar and check its hash. Fails fast when offline."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    spec = get_spec(name)
    if spec.kind == "folder":
        raise ConnectionError(f"{name} is a folder of files ({spec.url}): download it with the Hub's tools and run `v2abench weights import {name} FOLDER`")
    try:
        response = urllib.request.urlopen(spec.url, timeout=timeout)  # noqa: S310 (explicit user command)
    except (urllib.error.URLError, OSError) as err:
        raise ConnectionError(f"cannot download {name} from {spec.url} ({err}); on an offline machine copy the file here with `v2abench weights import {name} PATH`") from err
    total = int(response.headers.get("Content-Length") or 0) or None
    with atomic_path(spec.path) as tmp, open(tmp, "wb") as out, Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn()) as bar:
        task = bar.add_task(f"fetch {name}", total=total)
        for chunk in iter(lambda: response.read(1 << 20), b""):
            out.write(chunk)
            bar.advance(task, len(chunk))
        out.flush()
        sha = check_hash(spec, tmp)
    _record(spec, sha)
    return spec.path


def verify(name: str) -> tuple[bool, str]:
    """(ok, message) for one entry."""
    spec = get_spec(name)
    if not spec.present:
        return False, "missing"
    try:
        sha = check_hash(spec, spec.path)
    except WeightsHashError as err:
        return False, str(err)
    return True, f"ok {sha[:12]}" + ("" if spec.pinned else " (unpinned: checked against the sha256 recorded at import)")

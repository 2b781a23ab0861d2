"""``v2abench eval``: generate (or read a folder) -> decode once -> metrics -> one result JSON.

Each clip's video is demuxed once (:func:`~v2abench.evaluation.clips.decode_for_eval`); every metric
family reads the same decoded tensors. Generated audio is cached atomically under
``cache/gen/<model>@<ckpt-sha8>/<config-hash>/<clip>.flac`` with its timing beside it, and metrics
always read the audio back from that file, so an interrupted run resumes where it stopped and ends
with exactly the numbers of an uninterrupted one. A clip that cannot be decoded is reported with its
id and reason (``failed`` in the result, ``dropped`` in every metric) and the run goes on.

Sharding (``v2abench eval ... --shard I/N``, then ``--reduce N``): see :mod:`v2abench.evaluation.shards`.

``timing`` (seconds): ``decode``, ``generate``, ``metrics`` (features and metric math, intervals
included), ``intervals`` (bootstrap intervals alone, PROTOCOL.md allows at most 20% of an
evaluation) and ``total`` (the whole evaluation; summed over shards and the reduce step).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from v2abench import media, paths, provenance
from v2abench.atomic import atomic_path
from v2abench.config import benchmark_config, config_hash
from v2abench.data.splits import SplitData, load_split, resolve_split
from v2abench.evaluation import shards
from v2abench.evaluation.shards import Shard
from v2abench.evaluation.clips import EVAL_FPS, EVAL_RATE, DecodedClip, decode_for_eval, remove_dc, scored_part
from v2abench.interface import Generator, Task, V2ABatch, check_task
from v2abench.metrics.base import ClipSample, MetricFamily
from v2abench.metrics.bootstrap import interval_seconds
from v2abench.metrics.catalog import build_families
from v2abench.registry import REGISTRY
from v2abench.results import Result, write_result

log = logging.getLogger(__name__)


@dataclass
class EvalPlan:
    data: SplitData
    task: Task
    duration: float
    metric_ids: list[str] | None
    board: dict[str, object] | None  # {"name", "version", "table"} or None
    n_total: int
    timing: dict[str, float] = field(default_factory=dict)
    not_computed: dict[str, str] = field(default_factory=dict)
    shard: Shard | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def clips(self) -> list:
        """The clips this process scores (all of them, or its shard's)."""
        clips = self.data.clips
        return clips if self.shard is None else [c for i, c in enumerate(clips) if self.shard.takes(i)]

    def state_key(self, seed: int) -> str:
        """What a shard state depends on besides the run cache folder (split, task, metrics, seed)."""
        return config_hash({"split": self.data.spec.name, "ground_truth": self.data.ground_truth_sha256, "n": len(self.data.clips),
                            "task": self.task.value, "duration": self.duration, "metrics": self.metric_ids, "seed": seed})


def make_plan(split: str, *, task: Task | None = None, limit: int | None = None, metrics: list[str] | None = None) -> EvalPlan:
    spec = resolve_split(split)
    data = load_split(spec, limit=limit)
    n_total = len(load_split(spec).clips) if limit is not None else len(data.clips)
    task = task or spec.default_task
    duration = min(c.duration for c in data.clips)
    board = None
    if spec.board is not None:
        cfg = benchmark_config(spec.board)
        duration = float(cfg.get("duration", duration))
        table = (cfg.get("tables") or {}).get(task.value)
        board = {"name": cfg["board"], "version": int(cfg["version"]), "table": task.value}
        if metrics is None and table is not None:
            metrics = list(table["metrics"])
    return EvalPlan(data, task, duration, metrics, board, n_total)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)


def _families(plan: EvalPlan, bootstrap_seed: int) -> list[MetricFamily]:
    families, plan.not_computed = build_families(plan.metric_ids, bootstrap_seed=bootstrap_seed)
    return families


def _decode_all(plan: EvalPlan, failed: dict[str, str]) -> Iterator[DecodedClip]:
    for record in plan.clips:
        start = time.perf_counter()
        try:
            decoded = decode_for_eval(record, plan.duration)
        except media.MediaError as err:
            failed[record.id] = str(err)
            log.warning("skipping clip %s: %s", record.id, err)
            continue
        finally:
            plan.timing["decode"] = plan.timing.get("decode", 0.0) + time.perf_counter() - start
        yield decoded


def _sample(clip: DecodedClip, audio: torch.Tensor, rate: int, duration: float, seconds: float | None, nfe: int | None) -> ClipSample:
    """The scored part of a clip (:func:`scored_part`: the whole clip, or for FE the continuation only)."""
    part = scored_part(clip, audio, rate, duration)
    return ClipSample(
        id=clip.record.id,
        generated=remove_dc(part.generated),
        generated_rate=rate,
        reference=remove_dc(part.reference),
        reference_rate=EVAL_RATE,
        duration=part.duration,
        onsets=part.onsets,
        caption=clip.record.caption,
        frames=part.frames,
        fps=EVAL_FPS,
        seconds=seconds,
        nfe=nfe,
        conditioning=None if part.conditioning is None else remove_dc(part.conditioning),
        conditioning_rate=EVAL_RATE,
    )


def _update(families: list[MetricFamily], sample: ClipSample, plan: EvalPlan) -> None:
    start = time.perf_counter()
    for family in families:
        family.update(sample)
    plan.timing["metrics"] = plan.timing.get("metrics", 0.0) + time.perf_counter() - start


def _finish(plan: EvalPlan, families: list[MetricFamily], failed: dict[str, str], model: dict, source: str, seeds: dict,
            training: dict[str, Any] | None = None) -> Result:
    for family in families:
        for cid, reason in failed.items():
            family.drop(cid, reason)
    start, intervals = time.perf_counter(), interval_seconds()
    metrics = {r.id: r for fam in families for r in fam.compute()}
    plan.timing["metrics"] = plan.timing.get("metrics", 0.0) + time.perf_counter() - start
    plan.timing["intervals"] = plan.timing.get("intervals", 0.0) + interval_seconds() - intervals
    plan.timing["total"] = plan.timing.get("total", 0.0) + time.perf_counter() - plan.started
    if plan.metric_ids is not None:
        metrics = {k: v for k, v in metrics.items() if k in plan.metric_ids}
    not_computed = {k: "no value (see dropped)" for k, v in metrics.items() if v.value is None}
    not_computed.update(plan.not_computed)
    spec = plan.data.spec
    return Result(
        board=plan.board or {"name": None, "version": None, "table": plan.task.value},
        split={
            "name": spec.name,
            "ground_truth_sha256": plan.data.ground_truth_sha256,
            "n_clips": len(plan.data.clips),
            "n_clips_total": plan.n_total,
            "duration": plan.duration,
        },
        model=model,
        metrics=metrics,
        source=source,
        seeds=seeds,
        training=training,
        not_computed=not_computed,
        failed=dict(sorted(failed.items())),
        environment=provenance.environment(),
        timing={k: round(v, 3) for k, v in sorted(plan.timing.items())},
        git=provenance.git_state(),
        created_utc=provenance.utc_now(),
        v2abench_version=provenance.code_version(),
    )


def _batches(items: Iterator[DecodedClip], size: int) -> Iterator[list[DecodedClip]]:
    batch: list[DecodedClip] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _same_frame_size(clips: list[DecodedClip]) -> list[list[DecodedClip]]:
    """``clips`` split into runs of one frame size ``(H, W)``, in first-seen order.

    Real-world clips come at any size (VGGSound: 176x144 to 1280x720 and odd sizes); every consumer
    brings frames to the size it needs itself (a generator's visual encoder, ImageBind, Synchformer,
    the probe), so a batch only has to share one size to be stacked. Per-clip seeding
    (:func:`~v2abench.interface.clip_rng`) keeps each clip's audio independent of this grouping.
    """
    groups: dict[tuple[int, int], list[DecodedClip]] = {}
    for clip in clips:
        groups.setdefault((int(clip.frames.shape[-2]), int(clip.frames.shape[-1])), []).append(clip)
    return list(groups.values())


def _to_batch(clips: list[DecodedClip], task: Task) -> V2ABatch:
    """Stack clips of one frame size (see :func:`_same_frame_size`) into a generator batch."""
    n_frames = min(c.frames.shape[0] for c in clips)
    # the ground truth in time: FE's reference is the continuation, so the prefix goes in front
    truth = [torch.cat([c.prefix, c.reference]) if c.prefix is not None else c.reference for c in clips]
    n_ref = min(t.shape[0] for t in truth)
    text = [c.record.text or c.record.caption for c in clips]
    return V2ABatch(
        ids=[c.record.id for c in clips],
        frames=torch.stack([c.frames[:n_frames] for c in clips]),
        fps=EVAL_FPS,
        text=text,
        reference_audio=torch.stack([t[:n_ref] for t in truth]).unsqueeze(1),
        sample_rate=EVAL_RATE,
        prefix_audio=torch.stack([c.prefix for c in clips]).unsqueeze(1) if task is Task.FE and all(c.prefix is not None for c in clips) else None,
        style_audio=_stack_padded([c.style for c in clips]) if task is Task.AC_VTA and all(c.style is not None for c in clips) else None,
    )


def _stack_padded(rows: list[torch.Tensor | None]) -> torch.Tensor:
    """Stack mono clips ``[N_i]`` into ``[B, 1, max N]`` (zero padded)."""
    longest = max(r.shape[-1] for r in rows if r is not None)
    return torch.stack([torch.nn.functional.pad(r, (0, longest - r.shape[-1])) for r in rows if r is not None]).unsqueeze(1)


@dataclass
class _Run:
    """One evaluation in progress: its plan, metric families and what the result records besides."""

    plan: EvalPlan
    families: list[MetricFamily]
    model: dict[str, Any]
    source: str
    seeds: dict[str, int]
    cache: Path  # the run's cache folder; shard states live under cache/shards/
    failed: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # audio-dir: clip id -> "name:sha256" of its file
    training: dict[str, Any] | None = None  # a trained generator's budget (its ``training`` attribute)

    def finish(self, out_dir: Path | None = None) -> tuple[Path, Result]:
        """Write the result to the user's results folder, or as ``out_dir/<file_name>`` when given."""
        result = _finish(self.plan, self.families, self.failed, self.model, self.source, self.seeds, self.training)
        if out_dir is None:
            return result.save(), result
        path = Path(out_dir) / result.file_name
        write_result(result, path)
        return path, result

    def shard_path(self, index: int, count: int) -> Path:
        return self.cache / "shards" / self.plan.state_key(self.seeds["bootstrap"]) / f"{index}-of-{count}.pkl"

    def save_shard(self) -> Path:
        """Pickle this shard's metric states (and failures, timing) for :meth:`reduce`."""
        return shards.save_state(self)

    def reduce(self, count: int) -> tuple[Path, Result]:
        """Merge the states of shards 0..count-1 and write the result of the whole split."""
        shards.merge_states(self, count)
        if self.source == "audio-dir":
            self.model["checkpoint_sha256"] = _files_digest(self.files, [c.id for c in self.plan.data.clips])
        return self.finish()


def _model_run(model: str, split: str, *, ckpt: str | None = None, limit: int | None = None, metrics: list[str] | None = None,
               task: Task | None = None, seed: int = 0, steps: int | None = None, cfg_scale: float | None = None,
               generator: Generator | None = None, shard: Shard | None = None, variant: dict[str, Any] | None = None) -> tuple[_Run, Generator]:
    plan = make_plan(split, task=task, limit=limit, metrics=metrics)
    plan.shard = shard
    if generator is None:
        generator = REGISTRY.build(model, "generator", ckpt=ckpt)
    check_task(generator.meta, plan.task)
    if hasattr(generator, "prepare"):
        generator.prepare(plan.data.spec)  # type: ignore[attr-defined]
    meta = generator.meta
    gen_config = {"task": plan.task.value, "duration": plan.duration, "seed": seed, "steps": steps, "cfg_scale": cfg_scale}
    sampling = getattr(generator, "generation_config", None)  # a trained backend's own sampling settings
    if sampling is not None:
        gen_config["sampling"] = sampling
    if variant is not None:  # an ablation variant ({"name", ...settings}): in the config hash and the row name
        gen_config["variant"] = variant
    networks = provenance.generator_networks(generator)  # every network's weights key the audio cache
    chash = config_hash({"model": asdict(meta), "networks": networks, **gen_config})
    model_doc = {
        "name": meta.name,
        "version": meta.version,
        "paradigm": meta.paradigm,
        "checkpoint_sha256": meta.checkpoint_sha256,
        "networks": networks,
        "params": meta.params,
        "config": gen_config,
        "config_hash": chash,
    }
    if variant is not None:
        model_doc["variant"] = str(variant["name"])
    cache = paths.cache_dir() / "gen" / f"{meta.name}@{meta.checkpoint_sha8}" / chash
    run = _Run(plan, _families(plan, seed), model_doc, "generator", {"generation": seed, "bootstrap": seed}, cache,
               training=getattr(generator, "training", None))
    return run, generator


def _score_model(run: _Run, generator: Generator, *, batch_size: int = 8, steps: int | None = None, cfg_scale: float | None = None) -> _Run:
    plan, cache, seed = run.plan, run.cache, run.seeds["generation"]
    with _progress() as progress:
        bar = progress.add_task(f"eval {run.model['name']} on {plan.data.spec.name}", total=len(plan.clips))
        done = 0
        for batch in _batches(_decode_all(plan, run.failed), batch_size):
            todo = [c for c in batch if not (cache / f"{c.record.id}.flac").is_file()]
            for group in _same_frame_size(todo):
                start = time.perf_counter()
                out = generator.generate(_to_batch(group, plan.task), task=plan.task, duration=plan.duration, seed=seed, steps=steps, cfg_scale=cfg_scale)
                plan.timing["generate"] = plan.timing.get("generate", 0.0) + time.perf_counter() - start
                per_clip_s, per_clip_nfe = out.seconds / len(group), out.nfe
                for clip, audio in zip(group, out.audio):
                    _store(cache, clip.record.id, audio, out.sample_rate, per_clip_s, per_clip_nfe)
            for clip in batch:
                audio, rate, timing = _load(cache, clip.record.id)
                _update(run.families, _sample(clip, audio, rate, plan.duration, timing["seconds"], timing["nfe"]), plan)
            done += len(batch)
            progress.update(bar, completed=done + len(run.failed))
    return run


def evaluate_model(
    model: str,
    split: str,
    *,
    ckpt: str | None = None,
    limit: int | None = None,
    metrics: list[str] | None = None,
    task: Task | None = None,
    seed: int = 0,
    batch_size: int = 8,
    steps: int | None = None,
    cfg_scale: float | None = None,
    generator: Generator | None = None,
    variant: dict[str, Any] | None = None,
    out_dir: Path | None = None,
) -> tuple[Path, Result]:
    """Generate audio for every clip of ``split`` with ``model`` and score it. Returns (path, result).

    ``variant``: an ablation variant's name and settings (row ``<model>-<name>@<sha8>``, settings in the
    config hash); ``out_dir``: write the result there instead of the user's results folder."""
    run, generator = _model_run(model, split, ckpt=ckpt, limit=limit, metrics=metrics, task=task, seed=seed, steps=steps,
                                cfg_scale=cfg_scale, generator=generator, variant=variant)
    return _score_model(run, generator, batch_size=batch_size, steps=steps, cfg_scale=cfg_scale).finish(out_dir)


def evaluate_model_shard(model: str, split: str, shard: Shard, *, batch_size: int = 8, **options: Any) -> Path:
    """:func:`evaluate_model` on one shard of the clips; returns the path of its saved metric states."""
    run, generator = _model_run(model, split, shard=shard, **options)
    return _score_model(run, generator, batch_size=batch_size, steps=options.get("steps"), cfg_scale=options.get("cfg_scale")).save_shard()


def reduce_model_shards(model: str, split: str, count: int, **options: Any) -> tuple[Path, Result]:
    """Merge the states of :func:`evaluate_model_shard` 0..count-1 (same options) into one result."""
    return _model_run(model, split, **options)[0].reduce(count)


def _store(cache: Path, clip_id: str, audio: torch.Tensor, rate: int, seconds: float, nfe: int) -> None:
    with atomic_path(cache / f"{clip_id}.json") as tmp:
        tmp.write_text(json.dumps({"seconds": seconds, "nfe": nfe, "sample_rate": rate}))
    media.write_audio(cache / f"{clip_id}.flac", audio.detach().cpu().float().clamp(-1, 1), rate)


def _load(cache: Path, clip_id: str) -> tuple[torch.Tensor, int, dict]:
    timing_path = cache / f"{clip_id}.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {"seconds": None, "nfe": None}
    audio, rate = media.read_audio(cache / f"{clip_id}.flac")
    return audio.mean(0), rate, timing


def _files_digest(files: dict[str, str], order: list[str]) -> str:
    """The row's checkpoint hash for a folder: its scored files (name and sha256) in split order."""
    digest = hashlib.sha256()
    for cid in order:
        if cid in files:
            digest.update(f"{files[cid]}\n".encode())
    return digest.hexdigest()


def _dir_run(audio_dir: str | Path, split: str, name: str, *, limit: int | None = None, metrics: list[str] | None = None,
             task: Task | None = None, seed: int = 0, shard: Shard | None = None) -> _Run:
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"audio folder {audio_dir} does not exist")
    plan = make_plan(split, task=task, limit=limit, metrics=[m for m in metrics] if metrics else None)
    plan.shard = shard
    model_doc = {"name": name, "version": None, "paradigm": None, "checkpoint_sha256": None, "networks": {}, "params": None, "config": {"audio_dir": str(audio_dir)}, "config_hash": None}
    cache = paths.cache_dir() / "eval" / "audio-dir" / config_hash({"audio_dir": str(audio_dir.resolve()), "name": name})
    return _Run(plan, _families(plan, seed), model_doc, "audio-dir", {"bootstrap": seed}, cache)


def _score_dir(run: _Run) -> _Run:
    plan, audio_dir = run.plan, Path(run.model["config"]["audio_dir"])
    with _progress() as progress:
        bar = progress.add_task(f"eval {run.model['name']} ({audio_dir}) on {plan.data.spec.name}", total=len(plan.clips))
        for clip in _decode_all(plan, run.failed):
            path = next((audio_dir / f"{clip.record.id}{ext}" for ext in (".flac", ".wav") if (audio_dir / f"{clip.record.id}{ext}").is_file()), None)
            if path is None:
                run.failed[clip.record.id] = f"no {clip.record.id}.flac or .wav in {audio_dir}"
                progress.advance(bar)
                continue
            try:
                audio, rate = media.read_audio(path)
            except media.MediaError as err:
                run.failed[clip.record.id] = str(err)
                progress.advance(bar)
                continue
            run.files[clip.record.id] = f"{path.name}:{media.sha256_file(path)}"
            _update(run.families, _sample(clip, audio.mean(0), rate, plan.duration, None, None), plan)
            progress.advance(bar)
    run.model["checkpoint_sha256"] = _files_digest(run.files, [c.id for c in plan.data.clips])
    return run


def evaluate_audio_dir(audio_dir: str | Path, split: str, name: str, *, limit: int | None = None, metrics: list[str] | None = None, task: Task | None = None, seed: int = 0) -> tuple[Path, Result]:
    """Score a folder of ``<clip_id>.wav|flac`` against ``split`` (av-benchmark style)."""
    return _score_dir(_dir_run(audio_dir, split, name, limit=limit, metrics=metrics, task=task, seed=seed)).finish()


def evaluate_audio_dir_shard(audio_dir: str | Path, split: str, name: str, shard: Shard, **options: Any) -> Path:
    """:func:`evaluate_audio_dir` on one shard of the clips; returns the path of its saved metric states."""
    return _score_dir(_dir_run(audio_dir, split, name, shard=shard, **options)).save_shard()


def reduce_audio_dir_shards(audio_dir: str | Path, split: str, name: str, count: int, **options: Any) -> tuple[Path, Result]:
    """Merge the states of :func:`evaluate_audio_dir_shard` 0..count-1 (same options) into one result."""
    return _dir_run(audio_dir, split, name, **options).reduce(count)

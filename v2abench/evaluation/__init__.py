"""The evaluation runner: generate (or read a folder) -> decode once -> metrics -> one result JSON."""

from v2abench.evaluation.runner import (
    evaluate_audio_dir,
    evaluate_audio_dir_shard,
    evaluate_model,
    evaluate_model_shard,
    reduce_audio_dir_shards,
    reduce_model_shards,
)
from v2abench.evaluation.shards import Shard

__all__ = ["Shard", "evaluate_audio_dir", "evaluate_audio_dir_shard", "evaluate_model", "evaluate_model_shard",
           "reduce_audio_dir_shards", "reduce_model_shards"]

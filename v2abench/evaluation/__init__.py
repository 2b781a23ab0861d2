"""The evaluation runner: generate (or read a folder) -> decode once -> metrics -> one result JSON."""

from v2abench.evaluation.runner import evaluate_audio_dir, evaluate_model

__all__ = ["evaluate_model", "evaluate_audio_dir"]

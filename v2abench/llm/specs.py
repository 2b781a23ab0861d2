"""Weights-registry entries of pretrained LLM folders (entries of :mod:`v2abench.weights`, ``kind="folder"``).

A folder is what the Hugging Face Hub serves for a model repository: ``config.json``,
``tokenizer.json`` (+ ``tokenizer_config.json``) and the ``*.safetensors`` shards with their index. The
suite never downloads one: a user with a copy runs ``v2abench weights import NAME FOLDER``, which copies it
to ``$V2ABENCH_HOME/weights/NAME/`` and records the folder's sha256 (of its sorted file list and each
file's sha256; the Hub publishes no folder hash, so the entries are unpinned: trust on first use).

    entry            repository            used by
    qwen2.5-7b       Qwen/Qwen2.5-7B       DreamFoley (the paper's LLM)
    qwen2.5-0.5b     Qwen/Qwen2.5-0.5B     the smallest Qwen2.5, for trying real weights on a laptop
"""

from __future__ import annotations

from v2abench.weights_spec import WeightsSpec

LLM_WEIGHTS: tuple[WeightsSpec, ...] = (
    WeightsSpec("qwen2.5-7b", "", "https://huggingface.co/Qwen/Qwen2.5-7B", "", "Apache-2.0", description="Qwen2.5-7B base (DreamFoley's LLM), a Hugging Face folder", kind="folder"),
    WeightsSpec("qwen2.5-0.5b", "", "https://huggingface.co/Qwen/Qwen2.5-0.5B", "", "Apache-2.0", description="Qwen2.5-0.5B base, a Hugging Face folder", kind="folder"),
)

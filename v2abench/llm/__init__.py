"""LLMs built with the ``transformers`` classes from a config, caption tokenizers built with ``tokenizers``,
and real LLM weights loaded from a local folder through the weights registry.

- :mod:`~v2abench.llm.build`: ``build_causal_lm("qwen2", hidden_size=..., ...)`` (any causal-LM
  architecture ``transformers`` knows: ``qwen2``, ``gemma``, ``llama``, ...), never touching the Hub;
- :mod:`~v2abench.llm.tokenizer`: :class:`CaptionTokenizer`, fixed-length caption ids from a word-level
  vocabulary of a split's captions, or from a pretrained LLM folder's ``tokenizer.json``;
- :mod:`~v2abench.llm.pretrained`: the registry entries of LLM folders and their loader;
- :mod:`~v2abench.llm.audio_lm`: :class:`CausalAudioLM`, a causal LM over ``[prefix; delayed audio
  codes]`` with summed codebook embeddings in, K heads out and a ``DynamicCache`` for decoding.

``transformers`` is imported lazily (by :func:`~v2abench.llm.build.import_transformers`, which also sets
``HF_HUB_OFFLINE=1`` unless the user chose otherwise), so ``import v2abench`` stays light.
"""

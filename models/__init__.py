"""Generator backends (installed as ``v2abench.models``): one module per backend family."""

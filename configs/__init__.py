"""YAML configs shipped with v2abench (benchmarks/, models/). Read them with :func:`v2abench.config.load_config`."""

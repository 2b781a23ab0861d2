"""Datasets and splits: SynthFoley (procedural, embedded default) and VGGSound-format folders."""

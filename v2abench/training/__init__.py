"""Training: every trainable entry (generator, codec, encoder, probe) trains through one Lightning wrapper."""

from v2abench.training.trainable import Trainable
from v2abench.training.run import load_train_config, train

__all__ = ["Trainable", "train", "load_train_config"]

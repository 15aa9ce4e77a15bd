"""dcgan-tuner: tune a size-adaptive DCGAN with Keras Tuner, scored by FD and KID."""

__version__ = "0.1.0"

"""Blind judgements by eye of a study's finished trials: the tasks, the local page that asks
them, and eye.json where the answers are kept. No TensorFlow."""

"""dcgan-tuner: tune a size-adaptive DCGAN with Keras Tuner, scored by FD and KID.

The public Python API (README, "From Python") is the names in `__all__`. They are
imported when first used, so `import tuner` loads no TensorFlow.
"""

__version__ = "0.1.0"

# Each public name and the module it lives in.
_PUBLIC = {
    "DCGANHyperModel": "tuner.study.hypermodel",
    "search_study": "tuner.api",
    "open_study": "tuner.api",
    "Study": "tuner.api",
    "load_space": "tuner.spaces.space",
    "Space": "tuner.spaces.space",
    "UsageError": "tuner.common.errors",
    "SearchStopped": "tuner.study.runner",
}
__all__ = list(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'tuner' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *__all__})

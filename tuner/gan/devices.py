"""What this machine computes on: TensorFlow loaded quietly, and the mixed-precision policy that
`precision = "mixed"` means.

    a visible GPU                            mixed_float16 (tensor cores; loss scaling)
    a CPU with bfloat16 hardware             mixed_bfloat16 (AVX512-BF16 or AMX: ~1.6x at batch 256)
    any other CPU                            float32 (bfloat16 is emulated there: ~15x slower)
"""

import os
import sys
from pathlib import Path

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def quiet_tensorflow():
    """Import TensorFlow with its C++ start-up chatter (oneDNN, CUDA probes) silenced.

    Those lines are written to file descriptor 2 before TF's log level applies,
    so stderr is pointed at /dev/null while TF loads and probes its devices.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # errors reach Python as exceptions anyway
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def bf16_features(cpuinfo=None):
    """The CPU's bfloat16 instruction sets (from /proc/cpuinfo; [] where it cannot tell)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []  # not Linux: no way to tell, and emulated bfloat16 is the costly mistake
    flags = set(cpuinfo.split())
    return [name for name in BF16_CPU_FLAGS if name in flags]


def mixed_policy_name():
    """The Keras dtype policy `precision = "mixed"` stands for on this machine."""
    import tensorflow as tf  # TF: only when the policy is asked for

    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if bf16_features() else "float32"


def describe_precision(precision):
    """One line for the log: what `precision` trains in on this machine."""
    if precision != "mixed":
        return f"precision {precision}"
    policy = mixed_policy_name()
    why = {"mixed_float16": "a GPU is visible", "mixed_bfloat16": "the CPU has bfloat16 hardware",
           "float32": "this CPU has no bfloat16 hardware (emulated bfloat16 is far slower)"}
    return f"precision mixed: {policy}, as {why[policy]}"

"""`precision = "mixed"` means the fastest mixed policy of the machine, float32 where none is."""

import pytest

from tuner.gan import devices

FLAGS = "flags\t\t: fpu vme sse2 avx2 {extra} ssse3\n"


@pytest.mark.parametrize("extra, found", [
    ("", []), ("avx512f avx512_bf16", ["avx512_bf16"]),
    ("amx_tile amx_bf16 avx512_bf16", ["amx_bf16", "avx512_bf16"])])
def test_bfloat16_hardware_is_read_from_the_cpu_flags(extra, found):
    assert devices.bf16_features(FLAGS.format(extra=extra)) == found


@pytest.mark.parametrize("features, policy", [
    ([], "float32"), (["avx512_bf16"], "mixed_bfloat16")])
def test_mixed_on_a_cpu_is_bfloat16_only_with_hardware_for_it(monkeypatch, features, policy):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(devices, "bf16_features", lambda cpuinfo=None: features)
    assert devices.mixed_policy_name() == policy


def test_mixed_on_a_gpu_is_float16(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    monkeypatch.setattr(devices, "bf16_features", lambda cpuinfo=None: ["amx_bf16"])
    assert devices.mixed_policy_name() == "mixed_float16"


def test_the_log_says_what_mixed_means_here(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(devices, "bf16_features", lambda cpuinfo=None: [])
    assert devices.describe_precision("mixed") == (
        "precision mixed: float32, as this CPU has no bfloat16 hardware (emulated bfloat16 is "
        "far slower)")
    assert devices.describe_precision("mixed_float16") == "precision mixed_float16"

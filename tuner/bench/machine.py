"""The machine: CPU, cores, versions, thread settings, load, matmul rate and memory.

What a platform cannot tell (no /proc, no `resource`, no load average, as on
Windows) is reported as unknown, never as a failure.
"""

import logging
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tuner.gan.devices import bf16_features

log = logging.getLogger(__name__)

MATMUL_SIZE = 2048
MATMUL_REPEATS = 7
ENV_VARS = ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
            "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA",
            "DNNL_MAX_CPU_ISA", "TF_XLA_FLAGS", "KMP_AFFINITY", "KMP_BLOCKTIME")


@dataclass
class Machine:
    cpu: str
    cores: int
    bf16: str
    python: str
    tensorflow: str
    keras: str
    intra_op_threads: int
    inter_op_threads: int
    env: dict
    load_before: tuple
    load_after: tuple = ()


@dataclass
class MatmulRate:
    size: int
    gflops: dict                  # dtype name -> GFLOP/s


def describe():
    """The machine as TensorFlow sees it, with the load average before the measurements."""
    import keras  # TF: only once a measurement starts
    import tensorflow as tf

    cpuinfo = _read("/proc/cpuinfo")
    return Machine(
        cpu=_cpu_name(cpuinfo),
        cores=os.cpu_count() or 0, bf16=_bf16_support(cpuinfo),
        python=platform.python_version(), tensorflow=tf.__version__, keras=keras.__version__,
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
        env={name: os.environ[name] for name in ENV_VARS if name in os.environ},
        load_before=load_average())


def load_average():
    """The 1/5/15-minute load average, or () where the platform has none (Windows)."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return ()


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpuinfo_field(cpuinfo, name):
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def _cpu_name(cpuinfo):
    """Model name plus family/model numbers: a VM often shows only "AMD EPYC"."""
    name = _cpuinfo_field(cpuinfo, "model name") or platform.processor() or "unknown"
    family, model = _cpuinfo_field(cpuinfo, "cpu family"), _cpuinfo_field(cpuinfo, "model")
    return f"{name} (family {family}, model {model})" if family else name


def _bf16_support(cpuinfo):
    """Which bfloat16 matrix hardware the CPU has: AMX tiles, AVX512-BF16 dot products, or none."""
    if not cpuinfo:
        return "unknown (no /proc/cpuinfo)"
    found = bf16_features(_cpuinfo_field(cpuinfo, "flags"))
    return ", ".join(found) if found else "none (bfloat16 is emulated)"


# ---------------------------------------------------------------------------
# Memory: None where the platform cannot tell


def rss_mb():
    """Resident memory of this process now, MB (from /proc: Linux), or None."""
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def peak_rss_mb():
    """The largest resident memory this process has had, MB (POSIX `resource`), or None."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, else KiB


# ---------------------------------------------------------------------------
# The hardware's practical limit


def matmul_rate(size=MATMUL_SIZE, repeats=MATMUL_REPEATS):
    """GFLOP/s of a dense size x size matmul in float32 and bfloat16 (median after a warm-up)."""
    rates = {dtype: matmul_gflops(median_call(matmul_probe(dtype, size), repeats), size)
             for dtype in ("float32", "bfloat16")}
    log.info("matmul %dx%d: %s GFLOP/s", size, size,
             ", ".join(f"{k} {v:.0f}" for k, v in rates.items()))
    return MatmulRate(size, rates)


def matmul_probe(dtype, size=MATMUL_SIZE):
    """A function that multiplies two size x size matrices of `dtype`; returns its seconds."""
    import tensorflow as tf  # TF: only once a measurement starts

    a = tf.cast(tf.random.normal((size, size), seed=1), dtype)
    b = tf.cast(tf.random.normal((size, size), seed=2), dtype)

    def probe():
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        return time.perf_counter() - start

    return probe


def matmul_gflops(seconds, size=MATMUL_SIZE):
    return 2 * size ** 3 / seconds / 1e9


def median_call(function, repeats):
    """Median seconds of `function()` over `repeats` calls after one untimed warm-up call."""
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)

"""What a trial costs on this machine: the measurements behind `python -m tuner.bench`.

`run_benchmark(config)` returns a `Report` of plain dataclasses, one module per concept:

* `machine`: CPU, cores, versions, thread settings, load average, the dense
  matmul rate (the hardware's practical limit) and the process's memory;
* `epochs`: seconds per epoch of the lab's setting (530 images plus flips,
  batch 256) for the tool's `fit` and for the lab's own loop, and the
  arithmetic rate they reach;
* `trials`: seconds to score an evaluation, the share of a quick-space trial
  it takes, memory over a sequence of trials and, optionally, the score
  quality of both precisions;
* `goals`: each speed target met or missed; `table`: the report as text.

Every timing is the median over several epochs or calls after a warm-up.
No TensorFlow is imported until a measurement starts, and nothing POSIX-only
at all: what a platform cannot tell is reported as not measurable.
"""

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tuner.bench.epochs import time_epochs
from tuner.bench.machine import Machine, MatmulRate, describe, load_average, matmul_rate
from tuner.bench.trials import (
    MemoryTrace,
    TrialShare,
    compare_precisions,
    embedded_faces,
    time_quick_trial,
    time_scoring,
    trace_memory,
)
from tuner.common.config import BenchConfig


@dataclass
class Report:
    config: BenchConfig
    machine: Machine
    matmul: MatmulRate | None = None
    epochs: list = field(default_factory=list)
    scoring: list = field(default_factory=list)
    trial: TrialShare | None = None
    memory: MemoryTrace | None = None
    quality: list = field(default_factory=list)
    seconds: float = 0.0


def run_benchmark(config=BenchConfig()):
    """Measure everything `config` asks for on this machine; return the `Report`."""
    start = time.perf_counter()
    report = Report(config, describe())
    report.matmul = matmul_rate()
    with tempfile.TemporaryDirectory(prefix="tuner-bench-") as scratch:
        scratch, faces = Path(scratch), embedded_faces()
        # First, while the process is fresh: its peak RSS then belongs to the trials alone.
        report.memory = trace_memory(config, faces, scratch)
        report.epochs = [time_epochs(config, size, precision)
                         for size in config.sizes for precision in config.precisions]
        report.scoring = time_scoring(config, faces, scratch)
        report.trial = time_quick_trial(config, faces, scratch)
        if config.quality:
            report.quality = compare_precisions(config, faces, scratch)
    report.machine.load_after = load_average()
    report.seconds = time.perf_counter() - start
    return report

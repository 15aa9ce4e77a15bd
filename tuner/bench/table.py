"""The report as text: one section per measurement, then the goals."""

import time

from tuner.bench.epochs import mixed_speedups
from tuner.bench.goals import goals

GOAL_MARKS = {True: "met", False: "MISSED", None: "n/a"}


def format_report(report):
    sections = [_header(report), _epochs(report), _scoring(report), _trial(report),
                _memory(report), _quality(report), _goals(goals(report))]
    return "\n\n".join(section for section in sections if section)


def _header(report):
    m, c = report.machine, report.config
    env = ", ".join(f"{k}={v}" for k, v in m.env.items()) or "none set"
    rates = ", ".join(f"{dtype} {rate:.0f}" for dtype, rate in report.matmul.gflops.items())
    return "\n".join([
        f"tuner.bench, {time.strftime('%Y-%m-%d %H:%M')}, took {report.seconds / 60:.1f} min "
        f"(sizes {' '.join(map(str, c.sizes))}, {c.epochs} timed epoch(s), {c.samples} samples)",
        f"machine  {m.cpu}, {m.cores} cores, bfloat16 hardware: {m.bf16}",
        f"software Python {m.python}, TensorFlow {m.tensorflow}, Keras {m.keras}",
        f"threads  intra-op {m.intra_op_threads}, inter-op {m.inter_op_threads} "
        f"(0 = TF's default: all cores); env {env}",
        f"load     1/5/15-min load average {_load(m.load_before)} before, "
        f"{_load(m.load_after)} after",
        f"matmul   {report.matmul.size}x{report.matmul.size}: {rates} GFLOP/s "
        f"(the hardware's practical limit)"])


def _load(load):
    return "/".join(f"{value:.2f}" for value in load) if load else "not measurable here"


def _epochs(report):
    c = report.config
    lines = [f"Seconds per epoch: {c.images} images + flips = {report.epochs[0].images}, batch "
             f"{c.batch_size} (median of {c.epochs} epoch(s) after a warm-up; fit and the lab "
             f"loop alternate)",
             f"{'size':>4}  {'precision':<9}  {'fit s':>7}  {'lab loop':>8}  {'fit/lab':>7}  "
             f"{'lab report':>10}  {'traces fit/lab':>14}  {'GFLOP/epoch':>11}  "
             f"{'GFLOP/s':>7}  {'matmul GFLOP/s':>14}  {'share':>5}"]
    lines += [_epoch_row(t) for t in report.epochs]
    speedups = mixed_speedups(report.epochs)
    values = "  ".join(f"{size}: x{value:.2f}" for size, value in speedups.items())
    overheads = [t.fit_call_overhead for t in report.epochs]
    return "\n".join(lines + [
        f"mixed precision speed-up (float32 s / mixed s, fit): {values or '-'}",
        f"fit s: on_epoch_begin to on_epoch_end; a fit() call spent "
        f"{min(overheads):.2f}..{max(overheads):.2f} s more outside its epoch (median "
        f"per row), paid once per trial",
        f"matmul: {report.matmul.size}x{report.matmul.size}, same precision, timed in "
        f"the same rounds; share = GFLOP/s / matmul GFLOP/s"])


def _epoch_row(t):
    reported = f"{t.lab_reported:.3f}" if t.lab_reported else "-"
    return (f"{t.size:>4}  {t.precision:<9}  {t.fit_seconds:>7.3f}  {t.lab_seconds:>8.3f}  "
            f"{t.fit_seconds / t.lab_seconds:>7.2f}  {reported:>10}  "
            f"{f'{t.fit_traces}/{t.lab_traces}':>14}  {t.train_flops / 1e9:>11.0f}  "
            f"{t.gflops:>7.0f}  {t.matmul_gflops:>14.0f}  {t.peak_fraction:>5.0%}")


def _scoring(report):
    lines = [f"Scoring one evaluation ({report.config.samples} samples at 32x32; median of "
             f"{report.config.score_repeats} after a cold call), seconds",
             f"{'features':<16}  {'total':>6}  {'cold':>6}  {'generate':>8}  {'features':>8}  "
             f"{'FD/KID/D&C':>10}  {'reference':>9}  {'cache hit':>9}"]
    for s in report.scoring:
        if s.skipped:
            lines.append(f"{s.features:<16}  {s.skipped}")
            continue
        lines.append(f"{s.features:<16}  {s.seconds:>6.2f}  {s.cold_seconds:>6.2f}  "
                     f"{s.generation:>8.2f}  {s.feature_seconds:>8.2f}  {s.metrics:>10.2f}  "
                     f"{s.reference_seconds:>9.2f}  {s.reference_cached_seconds:>9.3f}")
    return "\n".join(lines)


def _trial(report):
    t = report.trial
    return "\n".join([
        f"Quick-space trial: lfw-subset {t.images} images, 32x32, batch {t.batch_size}, "
        f"{t.precision}, {t.epochs} epochs, {t.evaluations} evaluations (measured on a "
        f"{t.measured_epochs}-epoch trial)",
        f"{'s/epoch':>7}  {'training s':>10}  {'eval cold':>9}  {'eval warm':>9}  "
        f"{'scoring s':>9}  {'trial s':>7}  {'scoring share':>13}",
        f"{t.seconds_per_epoch:>7.3f}  {t.epochs * t.seconds_per_epoch:>10.1f}  "
        f"{t.eval_cold:>9.2f}  {t.eval_warm:>9.2f}  {t.scoring_seconds:>9.1f}  "
        f"{t.trial_seconds:>7.0f}  {t.share:>13.1%}"])


def _memory(report):
    m = report.memory
    return "\n".join([
        f"Memory over {len(m.rss_mb)} trials in one process (clear_session, build, fit "
        f"{report.config.memory_epochs} epoch(s), score), MB",
        "trial     " + "".join(f"{n:>7}" for n in range(1, len(m.rss_mb) + 1)),
        "RSS       " + _megabytes(m.rss_mb),
        "peak RSS  " + _megabytes(m.peak_mb),
        f"reference features computed {m.reference_computations} time(s) for "
        f"{len(m.rss_mb)} trials"])


def _megabytes(values):
    if None in values:
        return "  not measurable here"
    return "".join(f"{value:>7.0f}" for value in values)


def _quality(report):
    if not report.quality:
        return ""
    lines = ["Quality: the quick space's best setting (lr 5e-4, 32x32), full trial per run",
             f"{'precision':<9}  {'seed':>4}  {'best KID':>15}  {'epoch':>5}  {'final KID':>9}  "
             f"{'s/epoch':>7}"]
    for q in report.quality:
        lines.append(f"{q.precision:<9}  {q.seed:>4}  {f'{q.kid:.4f}±{q.kid_std:.4f}':>15}  "
                     f"{q.best_epoch:>5}  {q.final_kid:>9.4f}  {q.seconds_per_epoch:>7.3f}")
    return "\n".join(lines)


def _goals(goal_list):
    width = max(len(goal.name) for goal in goal_list)
    return "\n".join(["Goals"] + [f"[{GOAL_MARKS[goal.met]:>6}]  {goal.name:<{width}}  "
                                  f"{goal.measured}" for goal in goal_list])

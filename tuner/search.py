"""`python -m tuner.search`: run or resume a hyperparameter search of the lab's DCGAN.

    python -m tuner.search                         # embedded faces, quick space
    python -m tuner.search --data ~/lfw-deepfunneled --person George_W_Bush --space lab
    python -m tuner.search --data lfw-deepfunneled --person George_W_Bush  # downloaded once
    python -m tuner.search --settle                # add seeds until its questions settle
    python -m tuner.search --space lab --workers 2             # a chief and two local workers
    python -m tuner.search --space lab --chief 127.0.0.1:8000  # then, with the same options:
    python -m tuner.search --space lab --worker 127.0.0.1:8000 --worker-id w1
"""

import argparse
import shlex
import sys

from tuner import console
from tuner.common.config import (
    CHIEF_TIMEOUT,
    DEFAULT_FEATURES,
    DEFAULT_MARGIN,
    FEATURE_NETWORKS,
    LFW_ARCHIVES,
    MAX_REPEATS,
    PRECISIONS,
    SEARCH_OPTIONS,
    TUNERS,
    WORKER_TIMEOUT,
    DataConfig,
    ScoringConfig,
    SearchConfig,
    search_config,
)
from tuner.common.errors import UsageError
from tuner.common.names import OBJECTIVES
from tuner.distributed.cluster import role_from
from tuner.distributed.launcher import run_local, worker_plan
from tuner.gan.devices import quiet_tensorflow
from tuner.report.tables import render
from tuner.results.next_step import next_step_lines
from tuner.results.rankings import rank_studies
from tuner.results.snapshot import read_study
from tuner.study.inputs import resolve
from tuner.study.runner import SearchStopped, run_search, study_folder

CLUSTER_FLAGS = ("chief", "worker", "worker_id", "worker_timeout", "chief_timeout", "workers",
                 "gpus")

EXIT_STOPPED = 1


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.search", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    d, s, c = DataConfig(), ScoringConfig(), SearchConfig()
    p.add_argument("--data", default=d.data,
                   help="'lfw-subset' (embedded, default), an LFW-style folder, a flat folder "
                        f"of images, the LFW .tgz, or {', '.join(sorted(LFW_ARCHIVES))} "
                        "(downloaded once into the user cache)")
    p.add_argument("--data-url", metavar="URL",
                   help="a mirror to download the --data archive from (default: "
                        "$DCGAN_TUNER_<NAME>_URL, else the built-in URL)")
    p.add_argument("--data-sha256", metavar="HEX",
                   help="the SHA-256 of the file the mirror serves, when it is not the built-in "
                        "archive (default: $DCGAN_TUNER_<NAME>_SHA256, else the built-in checksum)")
    p.add_argument("--person", default=d.person, help="the LFW person folder to train on")
    p.add_argument("--crop", type=float, default=d.crop,
                   help="centre crop, fraction of the side kept (default 1.0: whole image)")
    p.add_argument("--no-flip", action="store_true",
                   help="do not add horizontally flipped copies (to training nor reference)")
    p.add_argument("--holdout", type=float,
                   help="share of the images no trial trains on, scored against as "
                        "kid_heldout (default: the space file's, else 0)")
    p.add_argument("--space", default=c.space,
                   help="a space in search_spaces/ (quick, lab, lab-mini, wide) or a .toml path")
    p.add_argument("--tuner", choices=TUNERS, help="default: the space file's tuner")
    p.add_argument("--max-trials", type=int, help="default: the space file's value")
    p.add_argument("--epochs", type=int, help="epochs per trial (default: the space file's)")
    p.add_argument("--eval-every", type=int, help="score every N epochs (and at the end)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--latent-dim", type=int)
    p.add_argument("--precision", choices=PRECISIONS,
                   help="mixed: mixed_float16 on a GPU, mixed_bfloat16 on a CPU with bfloat16 "
                        "hardware, else float32; the explicit names force one (default: the "
                        "space file's)")
    p.add_argument("--repeats", type=int,
                   help="training runs per configuration, seeds seed..seed+K-1 for every "
                        "configuration (default: the space file's, else 1)")
    p.add_argument("--settle", action="store_true", default=None,
                   help="once every configuration has its first --repeats runs (at least 2), "
                        "add seeds where a decision is still open (each comparison with #1, "
                        "each claim), until none is or --max-repeats (default: the space "
                        "file's settle, else off)")
    p.add_argument("--max-repeats", type=int, metavar="N",
                   help=f"--settle's cap of runs per configuration (default: the space file's, "
                        f"else {MAX_REPEATS})")
    p.add_argument("--margin", type=float, metavar="SHARE",
                   help=f"the smallest difference in the objective that matters, as a share of "
                        f"#1's score: a trial within it of the best is a tie, and the race "
                        f"stops once every trial is settled worse or tied (default: the space "
                        f"file's, else {DEFAULT_MARGIN})")
    p.add_argument("--rank-by", metavar="final|best|last-N",
                   help="a run's score: its final evaluation, its best (optimistic) or the "
                        "mean of its last N (default: the space file's, else final)")
    p.add_argument("--objective", choices=OBJECTIVES, default=c.objective,
                   help="what trials are ranked by (kid-heldout needs --holdout)")
    p.add_argument("--features", default=s.features,
                   help=f"frozen network scores are computed on: {', '.join(FEATURE_NETWORKS)} "
                        f"(default: a resumed study's own, else {DEFAULT_FEATURES})")
    p.add_argument("--features-weights", help="local weights file for --features inception")
    p.add_argument("--samples", type=int, default=s.samples,
                   help="generated images per evaluation")
    p.add_argument("--eval-size", type=int,
                   help="evaluation resolution (default: the space's largest image size)")
    p.add_argument("--results-dir", default=c.results_dir)
    p.add_argument("--study", help="study folder name (default: the space's name)")
    p.add_argument("--seed", type=int, default=c.seed)
    p.add_argument("--overwrite", action="store_true", help="start the study afresh")
    p.add_argument("--repair", action="store_true",
                   help="a study with damaged files: set them aside in <study>/damaged/ "
                        "(nothing is deleted) and rerun just those trials, keeping the others")
    p.add_argument("--max-consecutive-failures", type=int, default=c.max_consecutive_failures,
                   help="stop the search after this many failed trials in a row")
    p.add_argument("--time-budget", metavar="DURATION",
                   help="start no trial that would end after this long (e.g. 90m, 2h; estimated "
                        "from the trials finished so far), then end with the leaderboard")
    p.add_argument("--max-epochs-total", type=int, metavar="N",
                   help="start no trial that would take the epochs trained by all trials and "
                        "runs of the study above N")
    several = p.add_argument_group(
        "several workers", "keras-tuner's distributed tuning: a chief serves the study's oracle, "
        "workers with the same options run its trials in the chief's study folder (a shared "
        "filesystem). KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT work "
        "too. The chief serves only workers presenting the study's secret (<study>/chief.secret, "
        "or $DCGAN_TUNER_CHIEF_SECRET); its traffic is not encrypted: keep its port on trusted "
        "networks.")
    several.add_argument("--chief", metavar="HOST:PORT",
                         help="serve the study's oracle there and train nothing (use 127.0.0.1 "
                              "unless workers run on other machines; port 0: any free port, "
                              "written to <study>/chief.json)")
    several.add_argument("--worker", metavar="HOST:PORT", help="run trials for the chief there")
    several.add_argument("--worker-id", metavar="NAME",
                         help="this worker's name (default: worker-<host>-<pid>); a worker "
                              "restarted under its name takes its unfinished trial back")
    several.add_argument("--worker-timeout", type=float, metavar="SECONDS",
                         help=f"(chief) a worker silent this long is dead and its trial is "
                              f"handed out again (default {WORKER_TIMEOUT:g}; a worker of the "
                              f"chief's machine whose process has exited: at once)")
    several.add_argument("--chief-timeout", type=float, metavar="SECONDS",
                         help=f"(worker) wait this long for the chief to answer, so chief and "
                              f"workers may start in any order (default {CHIEF_TIMEOUT:g})")
    several.add_argument("--workers", type=int, metavar="N",
                         help="start a chief and N workers on this machine, the cores split "
                              "between them")
    several.add_argument("--gpus", metavar="all|0,1,...",
                         help="start a chief and one worker per GPU, each seeing only its own")
    console.add_common_flags(p)
    return p


def config_from(args, argv):
    """The flags' SearchConfig, through the one mapping the Python API uses too."""
    options = {name: value for name, value in vars(args).items() if name in SEARCH_OPTIONS}
    command = shlex.join(["python", "-m", "tuner.search", *without_flags(argv, CLUSTER_FLAGS)])
    return search_config(command=command, **options)


def without_flags(argv, names):
    """`argv` without the flags `names` (snake_case) and their values, for a child's command."""
    spelled = {"--" + name.replace("_", "-") for name in names}
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in spelled:
            skip = True
        elif arg.split("=", 1)[0] not in spelled:
            out.append(arg)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    alone = args.workers is None and args.gpus is None
    console.setup_logging(verbose=not args.quiet,
                          prefix=args.worker_id or ("chief" if args.chief and alone else ""))
    config = config_from(args, argv)

    def job():
        if args.workers is not None or args.gpus is not None:
            return _local_workers(args, argv, config)
        role = role_from(args.chief, args.worker, args.worker_id, args.worker_timeout,
                         chief_timeout=args.chief_timeout)
        try:
            study_dir, stopped = run_search(config, on_validated=quiet_tensorflow,
                                            role=role), None
        except SearchStopped as err:
            study_dir, stopped = study_folder(config), err
        if role.role == "worker":
            if stopped:
                print(f"error: {stopped}", file=sys.stderr)
                return EXIT_STOPPED
            print(f"worker {role.worker_id}: no trial left; study: {study_dir}")
            return 0
        _print_results(study_dir)
        if stopped:
            print(f"error: {stopped}", file=sys.stderr)
            return EXIT_STOPPED
        return 0

    return console.run_cli(job, args, interrupted_hint="Run the same command again to resume.")


def _local_workers(args, argv, config):
    """--workers N / --gpus: a chief and its workers as child processes, then the leaderboard."""
    if args.worker or args.worker_id:
        raise UsageError("--workers and --gpus start their own workers: leave out --worker and "
                         "--worker-id")
    resolve(config)  # bad flags fail here, in one line, before any process starts
    plan = worker_plan(args.workers, args.gpus)
    status = run_local(without_flags(argv, ("workers", "gpus")), plan, args.chief,
                       study_folder(config))
    if status not in (0, EXIT_STOPPED):
        return status
    _print_results(study_folder(config))
    return status


def _print_results(study_dir):
    """The leaderboard, the study's folder, then what is still open and the command to settle it."""
    print(render(rank_studies([read_study(study_dir)]), width=console.terminal_width()))
    print(f"study: {study_dir}")
    for line in next_step_lines(study_dir):
        print(line)


if __name__ == "__main__":
    sys.exit(main())

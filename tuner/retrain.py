"""`python -m tuner.retrain`: train a study's best configuration properly, on several seeds.

    python -m tuner.retrain                          # the newest study in results/, its best trial
    python -m tuner.retrain quick --seeds 3          # three trainings from scratch
    python -m tuner.retrain results/lab --trial 07 --epochs 2000

Scores are made under exactly the study's protocol, so they sit on the search's
scale. Running the same command again resumes from the last checkpoint (one
per evaluation); a larger --epochs extends finished seeds.
"""

import argparse
import shlex
import sys

from tuner import console
from tuner.common.config import DEFAULT_RESULTS_DIR, RetrainConfig
from tuner.gan.devices import quiet_tensorflow
from tuner.study.retraining import describe, run_retrain


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.retrain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", metavar="STUDY", nargs="?",
                   help="a study folder, or its name under --results-dir "
                        "(default: the most recently modified study)")
    p.add_argument("--trial", help="the trial id to retrain (default: the best completed trial)")
    p.add_argument("--epochs", type=int,
                   help="epochs per seed (default: the space's retrain_epochs, 1000 for lab)")
    p.add_argument("--seeds", type=int, default=RetrainConfig().seeds,
                   help="trainings from scratch with different seeds (default 1)")
    p.add_argument("--out", help="output folder (default: <study>/retrain/trial_<id>)")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR)
    console.add_common_flags(p)
    return p


def config_from(args, argv):
    return RetrainConfig(study=args.study, results_dir=args.results_dir, trial=args.trial,
                         epochs=args.epochs, seeds=args.seeds, out=args.out,
                         command=shlex.join(["python", "-m", "tuner.retrain", *argv]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    console.setup_logging(verbose=not args.quiet)
    config = config_from(args, argv)

    def job():
        quiet_tensorflow()
        print(format_summary(run_retrain(config)))
        return 0

    return console.run_cli(job, args, interrupted_hint="Run the same command again to resume.")


def format_summary(summary):
    """Per seed best and final scores, their mean and std, and the search's score."""
    values = describe(summary["hyperparameters"])
    final, best, search = summary["final"], summary["best"], summary["search"]
    return "\n".join([
        f"trial {summary['trial_id']} of {summary['study']} ({values}), {summary['epochs']} epochs",
        "seed  status     epochs  best KID (epoch)      final KID       final FD",
        *(_seed_line(run) for run in summary["seeds"]),
        f"over {summary['n_completed']} seed(s): final KID {_spread(final, 'kid')}  "
        f"FD {_spread(final, 'fd')};  best KID {_spread(best, 'kid')}",
        _search_line(search),
        f"retrain: {summary['folder']}"])


def _search_line(search):
    """The search's score of the trial: its rank-by score, mean ± se over its runs."""
    runs = search.get("repeats") or 1
    spread = f"±{search['score_se']:.4f} (se)" if search.get("score_se") is not None else ""
    return (f"search ({runs} run(s) of {search['epochs']} epochs, "
            f"{search.get('rank_by') or 'best'} evaluation): KID {search['kid']:.4f}{spread}  "
            f"FD {search['fd']:.3f}")


def _seed_line(run):
    head = f"{run['seed']:>4}  {run['status']:<9}  {run['epochs']:>6}  "
    if not run["final"]:
        return head + "-"
    best = f"{_kid(run['best'])} ({run['best']['epoch']})"
    return head + f"{best:<20}  {_kid(run['final'])}  {run['final']['fd']:9.3f}"


def _kid(scores):
    return f"{scores['kid']:.4f}±{scores['kid_std']:.4f}"


def _spread(spread, key):
    mean, std = spread[key]["mean"], spread[key]["std"]
    if mean is None:
        return "-"
    return f"{mean:.4g}" + (f" ± {std:.2g}" if std is not None else "")


if __name__ == "__main__":
    sys.exit(main())

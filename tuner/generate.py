"""`python -m tuner.generate`: images from a saved generator, for looking and for scoring.

    python -m tuner.generate results/quick/retrain/trial_1/seed_1/generator.keras
    python -m tuner.generate MODEL --n 2000 --out fakes/ && python -m tuner.score lfw-subset fakes/
    python -m tuner.generate MODEL --grid grid.png --interpolate 10

Writes --n grayscale PNGs at the model's size into --out (a valid FAKE folder of
tuner.score), optionally one grid image, and with --interpolate K a strip of K
images on the straight line between the latent points of images 0000 and 0001
(in --out/interpolation/).
"""

import argparse
import sys

from tuner import console
from tuner.gan.devices import quiet_tensorflow
from tuner.gan.generation import GenerateConfig, generate


def parser():
    d = GenerateConfig(model="")
    p = argparse.ArgumentParser(prog="python -m tuner.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help="a generator .keras file (from tuner.retrain)")
    p.add_argument("--n", type=int, default=d.n, help=f"images to write ({d.n})")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the latent points (0)")
    p.add_argument("--out", default=d.out, help=f"folder of the images ({d.out})")
    p.add_argument("--grid", metavar="FILE", help="also write all images tiled into this PNG")
    p.add_argument("--interpolate", type=int, metavar="K",
                   help="also write K images along the line between two latent points")
    console.add_common_flags(p)
    return p


def config_from(args):
    return GenerateConfig(model=args.model, n=args.n, seed=args.seed, out=args.out,
                          grid=args.grid, interpolate=args.interpolate)


def main(argv=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    console.setup_logging(verbose=not args.quiet)
    config = config_from(args)

    def job():
        quiet_tensorflow()
        written = generate(config)
        print(f"{written.images} images of {written.size}x{written.size} in {written.out}")
        for path in (written.grid, written.interpolation):
            if path:
                print(path)
        return 0

    return console.run_cli(job, args)


if __name__ == "__main__":
    sys.exit(main())

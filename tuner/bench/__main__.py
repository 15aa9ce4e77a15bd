"""`python -m tuner.bench`: see tuner/bench/cli.py."""

import sys

from tuner.bench.cli import main

sys.exit(main())

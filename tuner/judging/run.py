"""The library call behind `python -m tuner.eye`: find the study, open or resume the judge's
session, and make the server (not yet serving). No TF."""

from tuner.judging.server import EyeServer
from tuner.judging.session import Session
from tuner.results.snapshot import find_study, latest_study, read_study


def open_page(config):
    """An `EyeServer` for `config` (an EyeConfig), bound to its port; call `serve_forever()`.

    Raises:
        UsageError: no such study, no finished trial to judge, a damaged eye.json, the port
            in use.
    """
    folder = find_study(config.study, config.results_dir) if config.study \
        else latest_study(config.results_dir)
    session = Session(read_study(folder), config)
    return EyeServer(session, config.port)

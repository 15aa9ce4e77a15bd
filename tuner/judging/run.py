"""The library call behind `python -m tuner.eye`: find the study, open the judging room (and
the session of a judge named up front), and make the server (not yet serving). No TF."""

from dataclasses import replace

from tuner.judging.room import Room
from tuner.judging.server import EyeServer
from tuner.results.eye_file import read_eye
from tuner.results.snapshot import find_study, latest_study, read_study


def study_folder(config):
    """The folder of `config.study` (an EyeConfig), else the most recent study."""
    return find_study(config.study, config.results_dir) if config.study \
        else latest_study(config.results_dir)


def open_page(config):
    """An `EyeServer` for `config` (an EyeConfig), bound to its port; call `serve_forever()`.

    Raises:
        UsageError: no such study, no finished trial to judge, a damaged eye.json, the port
            in use.
    """
    return EyeServer(_room_of(config, config), config.port)


def export_pairs(config):
    """Plan (or resume) `config.judge`'s session of `config.pairs` exported pairs and write
    them as numbered PNGs into `config.export_pairs` (tuner.judging.export)."""
    from tuner.judging.export import export_pairs as write

    room = _room(config)
    return write(room, config.judge, config.export_pairs)


def import_answers(config):
    """Record `config.import_answers` as `config.judge`'s answers to their exported pairs."""
    from tuner.judging.export import import_answers as record

    return record(_room(config), config.judge, config.import_answers)


def _room(config):
    """A room with no session opened yet, asking pairs only (files show no single faces)."""
    return _room_of(config, replace(config, judge=None, faces=0))


def _room_of(config, room_config):
    """The room of `config`'s study. Its eye.json is read first: the readers of a study leave
    a damaged one out, but the room writes to it, so a damaged file stops it here, in one
    line (UsageError), before a page or an export is made."""
    folder = study_folder(config)
    read_eye(folder)
    return Room(read_study(folder), room_config)

"""A study's record, study.json: what was searched, on which data, scored how, with which packages.
"""


import logging
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

from tuner.common import files
from tuner.common.errors import UsageError
from tuner.data.sources import EMBEDDED, is_download
from tuner.results.snapshot import SPACE_COPY, STUDY_FILE

log = logging.getLogger(__name__)


class StudyFile:
    """study.json of a project folder a user's own keras-tuner tuner fills with a study's trials.

    A search writes study.json before its first trial; under any other tuner the
    hypermodel calls `adopt(folder, tuner)` before its first trial in a folder.
    """

    NAME = STUDY_FILE
    MADE_BY = "unknown (made by a keras-tuner tuner in Python)"

    def __init__(self, config, inputs, scorer):
        self.config, self.inputs, self.scorer = config, inputs, scorer

    def adopt(self, folder, tuner=None):
        """Write `folder`'s study.json, space copy and HParams config, or check the study.json
        there was made with the same data, space and scoring (UsageError otherwise)."""
        from tuner.study.tensorboard import (  # TensorBoard loads TF: only when a folder is adopted
            board_dir,
            write_hparams_config,
        )

        folder = Path(folder)
        if (folder / STUDY_FILE).is_file():
            check_resumable(folder, self.inputs.faces, self.scorer, self.inputs.space,
                             hint="use the same options, or give the tuner another project_name "
                                  "(or overwrite=True)")
            return
        write_hparams_config(board_dir(folder), self.inputs.space.params)
        oracle = getattr(tuner, "oracle", None)
        config = replace(self.config, command=self.MADE_BY, results_dir=str(folder.parent),
                         study=folder.name, tuner=None, max_trials=None)
        write_study_file(folder, study_record(
            config, self.inputs, self.scorer,
            tuner_name=f"{type(tuner).__name__} (keras-tuner)" if tuner else "unknown",
            max_trials=getattr(oracle, "max_trials", None)))


def check_resumable(study_dir, faces, scorer, space,
                     hint="resume it with the same settings, start afresh with --overwrite, "
                          "or pick another --study name"):
    """Resuming is only honest on the same data, space and scoring protocol."""
    path = study_dir / STUDY_FILE
    if not path.is_file():
        return
    old = files.read_json(path)
    mismatches = [what for what, same in (
        ("data", old.get("data", {}).get("fingerprint") == faces.fingerprint),
        ("space file", old.get("space", {}).get("text") == space.text),
        ("scoring protocol", old.get("protocol") == scorer.protocol.as_dict()),
    ) if not same]
    if mismatches:
        raise UsageError(
            f"{study_dir} holds a study made with a different {', '.join(mismatches)}; {hint}")
    log.info("resuming study %s", study_dir)


def write_study_file(study_dir, record):
    files.write_bytes(study_dir / SPACE_COPY, record["space"]["text"].encode())
    files.write_json(study_dir / STUDY_FILE, {"study": study_dir.name, **record})


def study_record(config, inputs, scorer, tuner_name, max_trials):
    """study.json's content (but the study's name): configuration, space, data, protocol."""
    space, faces, settings = inputs.space, inputs.faces, inputs.settings
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": config.command,
        # An absolute data path: retraining may run from another folder.
        "config": asdict(replace(config, command="", data=replace(
            config.data, data=_absolute_source(config.data.data)))),
        "space": {"name": space.name, "path": space.path, "text": space.text,
                  "description": space.description},
        "tuner": tuner_name,
        "max_trials": max_trials,
        "holdout": inputs.holdout,
        "train": asdict(settings),
        "data": {"source": _absolute_source(config.data.data), "name": faces.name,
                 "person": config.data.person,
                 "images": len(faces), "fingerprint": faces.fingerprint,
                 "crop": config.data.crop, "flip": config.data.flip},
        "protocol": scorer.protocol.as_dict(),
        "protocol_key": scorer.protocol.key(),
        "versions": package_versions(),
    }


def _absolute_source(source):
    """A local path made absolute; the embedded faces and an archive to download keep their name."""
    if source == EMBEDDED or is_download(source):
        return source
    return str(Path(source).expanduser().resolve())


def package_versions():
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("dcgan-tuner", "tensorflow", "keras", "keras-tuner", "numpy", "scipy",
                 "pillow", "mtcnn"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions

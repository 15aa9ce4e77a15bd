"""A worker's view of its chief (distributed/cluster.py's ChiefWatch), from chief.json: ended
(its trials done), dead (its process gone, or its beat silent past --chief-timeout), alive."""

import json
import subprocess
import sys
import time

from tuner.common.config import ClusterConfig
from tuner.distributed.cluster import ENV_CHIEF_PID, ChiefWatch, write_chief_file

ROLE = ClusterConfig("worker", "127.0.0.1", 8000, "w1", chief_timeout=3600)


def ended_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def chief_file(folder, **fields):
    write_chief_file(folder, "127.0.0.1", 8000)
    record = json.loads((folder / "chief.json").read_text())
    (folder / "chief.json").write_text(json.dumps({**record, **fields}))


def test_a_chief_that_ended_after_the_worker_started_has_ended(tmp_path):
    watch = ChiefWatch(tmp_path, ROLE, environ={})
    chief_file(tmp_path, ended=time.time() + 1)
    assert watch.ended() and watch.dead() == ""


def test_an_ended_record_from_an_earlier_chief_is_not_this_chiefs_end(tmp_path):
    chief_file(tmp_path, ended=time.time() - 60, pid=12345)
    assert not ChiefWatch(tmp_path, ROLE, environ={}).ended()
    # the launcher names its chief: that one ended before its workers joined
    assert ChiefWatch(tmp_path, ROLE, environ={ENV_CHIEF_PID: "12345"}).ended()


def test_a_chief_of_this_machine_whose_process_exited_is_dead(tmp_path):
    pid = ended_pid()
    chief_file(tmp_path, pid=pid, beat=3)
    assert ChiefWatch(tmp_path, ROLE, environ={}).dead() == f"its process {pid} has exited"
    chief_file(tmp_path, beat=3)  # this very process: alive
    assert ChiefWatch(tmp_path, ROLE, environ={}).dead() == ""


def test_another_machines_chief_is_dead_once_its_beat_is_silent_past_the_timeout(tmp_path):
    chief_file(tmp_path, host="elsewhere", beat=7)
    silent = ChiefWatch(tmp_path, ClusterConfig("worker", "h", 1, "w1", chief_timeout=0.01),
                        environ={})
    assert silent.dead() == ""                       # first look: the beat is new
    time.sleep(0.05)
    assert silent.dead().startswith("no sign of life for ")
    chief_file(tmp_path, host="elsewhere", beat=8)   # it beat again: alive
    assert silent.dead() == ""
    chief_file(tmp_path, host="elsewhere")           # a chief without beats: never by silence
    patient = ChiefWatch(tmp_path, ClusterConfig("worker", "h", 1, "w1", chief_timeout=0.01),
                         environ={})
    time.sleep(0.05)
    assert patient.dead() == "" and patient.dead() == ""

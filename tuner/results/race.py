"""STUB for the runs branch: replaced by the stats branch's racing rule at merge."""
from dataclasses import dataclass

from tuner.results.snapshot import read_study


@dataclass(frozen=True)
class OpenDecision:
    label: str
    trial_ids: tuple
    measured: str
    advice: str
    seeds_needed: int | None


def open_decisions(study_dir, claims=None):
    rows = [r for r in read_study(study_dir).rows if r["status"] == "COMPLETED"]
    if len(rows) < 2:
        return []
    best = rows[0]
    out = []
    for row in rows[1:]:
        vs = row.get("vs_best") or {}
        if not vs.get("settled") and not row.get("diverged") == row.get("repeats"):
            out.append(OpenDecision(f"trial {row['trial_id']} vs #1 (trial {best['trial_id']})",
                                    (row["trial_id"], best["trial_id"]),
                                    f"{vs.get('diff')}", "more seeds", None))
    return out


def out_of_race(study_dir):
    return {}

"""Rankings: the trials of one or more studies, ranked together only when scored alike. No TensorFlow.
"""


from dataclasses import dataclass

from tuner.results.decisions import Spending
from tuner.results.snapshot import OLD_RANK_BY, find_study, latest_study, rank, read_study


@dataclass(frozen=True)
class Ranking:
    """Trials of one or more studies scored under one protocol, ranked together."""

    studies: tuple
    rows: list
    objective: str
    protocol: dict
    note: str = ""  # why these studies are not ranked with the first group

    @property
    def names(self):
        return [study.name for study in self.studies]

    @property
    def rank_by(self):
        return self.studies[0].rank_by if self.studies else OLD_RANK_BY

    @property
    def looks(self):
        """The planned looks of its studies added up: each study's looks are looks at the
        ranking's numbers too (union bound over all of them)."""
        return sum(study.looks for study in self.studies) or 1

    @property
    def spending(self):
        """The studies' spending together: by seeds if any spends so, each share divided by
        the looks of all of them (union bound over the studies' looks)."""
        return group_spending(self.studies)

    @property
    def margin(self):
        return self.studies[0].margin if self.studies else None

    @property
    def cap(self):
        """The seeds per configuration within which an open row could still be decided."""
        return max((study.cap for study in self.studies), default=None)

    @property
    def repeats(self):
        """The most runs per configuration any of its studies asked for or holds."""
        asked = max((study.repeats for study in self.studies), default=1)
        return max([asked, *(len(row.get("repeat_scores") or []) for row in self.rows)])


def _same_scoring(a, b):
    """Scores rank together only under one protocol, objective and rank-by rule."""
    return (bool(a.protocol) and a.protocol == b.protocol and a.objective == b.objective
            and a.rank_by == b.rank_by)


def _why_separate(study, first):
    """One line: how `study`'s scoring differs from the first ranked group's."""
    if not study.protocol or not first.protocol:
        missing = study.name if not study.protocol else first.name
        return f"{study.name} is ranked separately from {first.name}: " \
               f"{missing} records no scoring protocol"
    differences = [f"{k} {first.protocol.get(k)} vs {study.protocol.get(k)}"
                   for k in sorted(set(first.protocol) | set(study.protocol))
                   if first.protocol.get(k) != study.protocol.get(k)]
    if study.objective != first.objective:
        differences.append(f"objective {first.objective} vs {study.objective}")
    if study.rank_by != first.rank_by and "rank_by" not in first.protocol:
        differences.append(f"rank_by {first.rank_by} vs {study.rank_by}")
    return (f"{study.name} is ranked separately from {first.name}: scores are not comparable "
            f"({'; '.join(differences)})")


def group_spending(studies):
    """One `Spending` for studies ranked together (see `Ranking.spending`)."""
    looks = sum(study.looks for study in studies) or 1
    return Spending(looks, any(study.spending.by_seeds for study in studies))


def rank_studies(studies):
    """Group studies with identical scoring and rank each group; later groups say why apart."""
    groups = []
    for study in studies:
        group = next((g for g in groups if _same_scoring(g[0], study)), None)
        if group is None:
            groups.append([study])
        else:
            group.append(study)
    rankings = []
    for group in groups:
        objective = group[0].objective
        rows = rank([dict(row) for study in group for row in study.rows], objective,
                    group_spending(group), group[0].margin, max(s.cap for s in group))
        note = "" if not rankings else "; ".join(_why_separate(s, groups[0][0]) for s in group)
        rankings.append(Ranking(tuple(group), rows, objective, group[0].protocol, note))
    return rankings


def load_rankings(studies, results_dir):
    """Rankings of the named studies (paths or names), or of the most recent study if none."""
    paths = [find_study(s, results_dir) for s in studies] or [latest_study(results_dir)]
    unique = list({p.resolve(): p for p in paths}.values())
    return rank_studies([read_study(p) for p in unique])

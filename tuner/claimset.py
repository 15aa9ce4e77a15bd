"""Claims: plain-language statements a study's numbers are checked against (stub)."""


def parse_claims(entries, path, check_assignment):
    return tuple(entries)

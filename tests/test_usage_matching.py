"""Which usage row a repository gets: the same rows as a scan of every row, and fast with thousands of rows."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc.usage.file import loads_csv
from costcalc.usage.model import Usage, UsageRow

_PATTERNS = st.lists(st.sampled_from(["a", "b", "/", "*", "?", "[ab]", "[!a]", "ab"]), min_size=1, max_size=5).map(
    "".join
)
_NAMES = st.lists(st.sampled_from(["a", "b", "/", "ab"]), min_size=1, max_size=5).map("".join)


def scanned_best(usage: Usage, repository: str) -> UsageRow | None:
    """The most specific matching row, file order on ties: every row compared with every other."""
    best: UsageRow | None = None
    for row in usage.rows:
        if row.matches(repository) and (best is None or row.specificity > best.specificity):
            best = row
    return best


@settings(max_examples=300, deadline=None)
@given(
    patterns=st.lists(st.one_of(_PATTERNS, st.just("*")), min_size=1, max_size=12),
    names=st.lists(_NAMES, min_size=1, max_size=8),
)
def test_the_row_a_repository_gets_is_the_one_a_scan_of_every_row_finds(patterns: list[str], names: list[str]) -> None:
    rows = tuple(
        UsageRow(pattern=pattern, line=line, source=("internet", "same-region", None)[line % 3])
        for line, pattern in enumerate(patterns, start=2)
    )
    usage = Usage(source="u.csv", rows=rows)
    for name in names:
        best = scanned_best(usage, name)
        match = usage.match(name)
        assert (match.line if match else None) == (best.line if best else None)
        expected = (
            [] if best is None else [best.line] + [r.line for r in rows if r.pattern == best.pattern and r != best]
        )
        assert [row.line for row in usage.matches(name)] == expected
    unmatched = [r.line for r in rows if r.pattern != "*" and not any(r.matches(name) for name in names)]
    assert [row.line for row in usage.unmatched(names)] == unmatched


def best_seconds(work: Callable[[], object], repeats: int = 5) -> float:
    """The fastest of REPEATS runs: the machine is shared, the minimum is the least disturbed.

    The garbage collector is paused while WORK runs: its passes walk every live object, so
    they would count the rows of the usage file again and again."""
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def matching_seconds(count: int) -> float:
    """Seconds to match COUNT repositories to a `usage init` file (a row per repository, then `*`)."""
    names = [f"team{i % 40}/service-{i:05d}" for i in range(count)]
    text = "repository,team,pulls_per_month\n" + "".join(f"{name},t{i % 7},{i % 13}\n" for i, name in enumerate(names))
    rows = loads_csv(text + "team1*/service-*,globs,5\n*,platform,3\n", "u.csv").rows

    def report() -> object:
        usage = Usage(source="u.csv", rows=rows)  # nothing kept from the run before
        return [usage.matches(name) for name in names], usage.unmatched(names)

    return best_seconds(report)


def test_matching_grows_in_step_with_the_repositories_not_with_their_square() -> None:
    small, large = matching_seconds(300), matching_seconds(3000)
    # ten times the repositories: about ten times the time, where a scan of every row per
    # repository (quadratic) takes about a hundred times
    assert large / small < 50, (small, large)

"""Every built-in profile within its time budget, and the docs quoting each one's time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from echobench import profiles

ROOT = Path(__file__).resolve().parents[1]
# What the issue tracker asked of each (minutes); a profile may promise less.
BUDGETS = {"standard": 15, "crossover": 30, "quick": 3, "smoke": 3, "db": 20, "open": 20,
           "scale": 20, "servers": 20, "app": 10}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_each_profile_fits_its_budget(name):
    profile = profiles.load_profile(name)
    assert profile.budget_min is not None and profile.budget_min <= BUDGETS[name]
    assert profile.expected_s <= 60 * profile.budget_min, (name, profile.expected_s)


@pytest.mark.parametrize("name", ["standard", "crossover", "db", "open", "scale", "servers"])
def test_profiles_that_feed_conclusions_measure_every_point_three_times(name):
    points = profiles.load_profile(name).points
    counts: dict = {}
    for p in points:
        key = (p.scenario, p.config.id, p.users, p.rate, p.delay_s, p.work_ms, p.io, p.pool)
        counts[key] = counts.get(key, 0) + 1
    measured = {k: n for k, n in counts.items() if k[0] != "calibrate"}
    assert min(measured.values()) >= 3, name


def test_the_docs_quote_each_profiles_time_as_its_dry_run_gives_it():
    """ "about N min" beside a profile in the README and docs/running.md: N within a
    minute of the profile's expected time."""
    quoted = []
    for path in (ROOT / "README.md", ROOT / "docs" / "running.md"):
        for line in path.read_text().splitlines():
            found = re.search(r"nox -s bench(?: -- --profile (\w+))?.*about (\d+) min", line)
            if found:
                quoted.append((found.group(1) or "standard", int(found.group(2))))
    assert len(quoted) >= 8
    for name, minutes in quoted:
        expected = profiles.load_profile(name).expected_s / 60
        assert abs(expected - minutes) <= 1.0, (name, minutes, expected)

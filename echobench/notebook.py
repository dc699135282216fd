"""What the notebook (analysis.ipynb) shows beside a run: for its open-loop, scale,
crossover and database sections, the run that has such points, and where it came from.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from echobench import results
from echobench.decision import cpu_points
from echobench.scenarios import faulting
from echobench.scenarios.burst import BURST
from echobench.scenarios.open import OPEN

COMPANIONS = {
    OPEN.name: results.RESULTS_ROOT / "reference-open",
    "scale": results.RESULTS_ROOT / "reference-scale",
    "crossover": results.RESULTS_ROOT / "reference-crossover",
    "db": results.RESULTS_ROOT / "reference-db",
    "faults": results.RESULTS_ROOT / "reference-faults",
}


def _has_points_for(summary: pd.DataFrame, section: str) -> bool:
    """Whether a run has what the `open`, `scale`, `crossover` or `db` sections show."""
    if section == "db":
        return bool((summary["io"] == "db").any())
    if section == "faults":  # any scenario that makes something go wrong
        return any(not s.rows(summary).empty for s in faulting())
    if section == OPEN.name:
        return not OPEN.rows(summary).empty
    if section == "scale":
        bursts = BURST.rows(summary)
        return bool((bursts.groupby("config")["users"].nunique() > 1).any())
    return not cpu_points(summary).empty


def companion_run(run_dir: Path, section: str) -> Path | None:
    """The run to show for `open`, `scale`, `crossover` or `db`: this one if it has such points,
    else your newest run that has them (results/runs/, newest first), else the committed
    reference run of that profile, else None."""
    if _has_points_for(results.load_summary(run_dir), section):
        return run_dir
    yours = (
        sorted(results.RUNS_DIR.glob("*/summary.csv"), reverse=True)
        if results.RUNS_DIR.is_dir()
        else []
    )
    for path in yours:  # run ids start with their UTC start time: newest first
        try:
            if _has_points_for(results.load_summary(path.parent), section):
                return path.parent.resolve()
        except (OSError, ValueError, results.ResultsError):
            continue  # a run folder cut short: skip it
    fallback = COMPANIONS[section]
    return fallback.resolve() if (fallback / "summary.csv").is_file() else None


def source_line(run_dir: Path | None, what: str) -> str:
    """Where a notebook section's figures come from, said plainly."""
    if run_dir is None:
        return f"No {what} run of yours, and no committed reference run of it."
    if run_dir.parent.name == "results" and run_dir.name.startswith("reference"):
        return (f"**From the committed reference run `{run_dir.name}`** (made on the machine "
                f"its run.json names; no {what} run of yours in results/runs/).")  # fmt: skip
    return f"From your run `{run_dir.name}`."

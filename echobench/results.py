"""The results layout and its schema: run folders, summary.csv, run.json.

Every file is written to a temporary name and renamed, so a crash never leaves a
torn summary or metadata file. Missing is missing: empty cells, never a fake 0.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from echobench import figures
from echobench.scenarios import SCENARIOS

# 2: calibration samples carry `client_bound` and give no R0 when it is true
# (`r0_rps_lower_bound`); aggregate.csv carries intervals (`_ci_low`, `_ci_high`,
# `ci_level`) instead of quartiles. Runs of version 1 still load: their stored figures
# are read as they were made, missing columns empty.
SCHEMA_VERSION = 2
RESULTS_ROOT = Path("results")
RUNS_DIR = RESULTS_ROOT / "runs"
LATEST = RESULTS_ROOT / "latest"
REFERENCE = RESULTS_ROOT / "reference"

# summary.csv, in order: declared (with what each means) in figures.py.
COLUMNS = figures.columns()


def columns() -> list[str]:
    """summary.csv's columns now: the declared ones, then every registered scenario's own."""
    return figures.columns(tuple(f for s in SCENARIOS.values() for f in s.figures))


class ResultsError(RuntimeError):
    """A run folder that cannot be created, written or read."""


def atomic_write(path: Path, text: str) -> None:
    """Write text to path through a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return "inf" if value == float("inf") else f"{value:.6g}"
    return value


def write_summary(rows: list[dict], path: Path) -> None:
    buffer = io.StringIO()
    names = columns()
    writer = csv.DictWriter(buffer, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({col: _cell(row.get(col)) for col in names})
    atomic_write(path, buffer.getvalue())


def write_json(data: dict, path: Path) -> None:
    atomic_write(path, json.dumps(data, indent=2, default=str) + "\n")


def create_run_dir(path: Path) -> Path:
    """Make a new, empty run folder and return its absolute path (children run elsewhere).

    An existing folder is never overwritten.
    """
    if path.exists():
        raise ResultsError(f"output folder {path} already exists; runs never overwrite")
    try:
        path.mkdir(parents=True)
        (path / "raw").mkdir()
    except OSError as exc:
        raise ResultsError(f"cannot create output folder {path}: {exc.strerror}") from None
    return path.resolve()


def check_writable(path: Path) -> None:
    """Refuse early, before anything is written, when path cannot be created."""
    if path.exists():
        raise ResultsError(f"output folder {path} already exists; runs never overwrite")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK) or not parent.is_dir():
        raise ResultsError(f"cannot create output folder {path}: {parent} is not writable")


def point_latest(run_dir: Path, latest: Path = LATEST) -> None:
    """Make results/latest point at run_dir (a relative symlink, replaced atomically)."""
    latest.parent.mkdir(parents=True, exist_ok=True)
    tmp = latest.with_name(f".{latest.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(run_dir.resolve(), latest.parent.resolve()))
    os.replace(tmp, latest)


def load_summary(run_dir: Path | str) -> pd.DataFrame:
    """summary.csv of a run with proper dtypes (booleans, inf capacity, empty = NaN)."""
    path = Path(run_dir) / "summary.csv"
    if not path.is_file():
        raise ResultsError(f"no summary.csv in {run_dir}")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"note": "string"})
    for col in columns():  # a run written by an older schema: its missing columns are empty
        if col not in frame:
            frame[col] = float("nan")
    for col in ("valid", "loadgen_bound"):
        frame[col] = frame[col].astype(str).str.lower().map({"true": True, "false": False})
    frame["note"] = frame["note"].fillna("")
    frame["io"] = frame["io"].astype(object).where(frame["io"].notna(), "sleep")  # older: slept
    return frame


def load_run(run_dir: Path | str) -> dict:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise ResultsError(f"no run.json in {run_dir}")
    return json.loads(path.read_text())


def resolve_run(run_dir: Path | str | None = None, reference: bool = True) -> Path:
    """A run folder: the one given, $ECHOBENCH_RESULTS, results/latest, or (for reading
    only, `reference=True`) the committed reference run."""
    has_latest = (LATEST / "summary.csv").is_file()
    fallback = REFERENCE if reference and not has_latest else LATEST
    chosen = Path(run_dir or os.environ.get("ECHOBENCH_RESULTS") or fallback)
    if not (chosen / "summary.csv").is_file():
        if chosen == LATEST and (REFERENCE / "report.md").is_file():
            raise ResultsError(
                f"no run of yours yet in {LATEST}: `nox -s bench` makes one; the committed "
                f"reference run's report is {REFERENCE / 'report.md'}"
            )
        raise ResultsError(f"{chosen} is not a run folder (no summary.csv); run `nox -s bench`")
    return chosen.resolve()

"""Terminal output of a run: the console and the end-of-run summary table."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from echobench.figures import FIGURES
from echobench.scenarios import SCENARIOS


def console() -> Console:
    """Progress and tables on stderr; wide enough for the table when not a terminal."""
    out = Console(stderr=True, highlight=False)
    if not out.is_terminal:
        out = Console(stderr=True, highlight=False, width=160)
    return out


def fmt_duration(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def print_plan(profile, out: Console) -> None:
    """A dry run: every point the profile would measure, and the time it should take."""
    budget = f" of its {profile.budget_min:g} min budget" if profile.budget_min else ""
    table = Table(title=f"profile {profile.name}: {len(profile.points)} points, about "
                  f"{fmt_duration(profile.expected_s)}{budget}")  # fmt: skip
    for col in ("#", "point", "expected"):
        table.add_column(col, justify="left" if col == "point" else "right")
    for p in profile.points:
        table.add_row(str(p.index), p.point_id, fmt_duration(p.expected_s))
    out.print(table)
    out.print("nothing was started or written; drop --dry-run to measure")


# How each scenario's headline figure reads on a point's progress line.
HEADLINES = {f.name: f.says for f in FIGURES if f.says}
DECLARED = {f.name: f for f in FIGURES}


def point_line(row: dict, headline: str) -> str:
    """One finished point: its headline figure, against the ideal, and whether it counts."""
    text = HEADLINES.get(headline, "{:.3g}")
    value = row.get(headline)
    said = text.format(value) if value is not None else f"no {headline}"
    eff = row.get("efficiency")
    said += f", {eff:.2f} of ideal" if eff is not None else ""
    return f"{row['point_id']}: {said}" + ("" if row["valid"] else f" [invalid: {row['note']}]")


def _num(value, fmt: str = "{:.0f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


# The end-of-run table's figures, in its order (headings and digits: figures.py).
SUMMARY_TABLE = ("rps", "ideal_rps", "efficiency", "makespan_s", "p50_ms", "p99_ms")


def print_summary(run, out: Console) -> None:
    table = Table(title=f"echobench {run.run_id} ({run.status})", show_lines=False)
    shown = [DECLARED[name] for name in SUMMARY_TABLE]
    pss = DECLARED["server_pss_peak_mb"]
    table.add_column("point", justify="left")
    for heading in (*(f.short for f in shown), "ok/req", pss.short, "valid"):
        table.add_column(heading, justify="right")
    for r in run.rows:
        table.add_row(
            r["point_id"],
            *(_num(r.get(f.name), f"{{:.{f.digits}f}}") for f in shown),
            "-" if r.get("requests") is None else f"{r['ok']}/{r['requests']}",
            _num(r.get(pss.name), f"{{:.{pss.digits}f}}"),
            "yes" if r["valid"] else "[red]no[/]",
        )
    out.print(table)
    out.print(f"summary: {run.run_dir / 'summary.csv'}\nmetadata: {run.run_dir / 'run.json'}")


def print_comparison(table, name_a: str, name_b: str, out: Console) -> None:
    colours = {"better": "green", "worse": "red", "not significant": "dim",
               "too few repeats": "yellow"}  # fmt: skip
    view = Table(title=f"B = {name_b} against A = {name_a}")
    for col in ("scenario", "config", "load", "figure", "A", "B", "B/A", "verdict"):
        view.add_column(col, justify="left" if col in ("scenario", "config", "figure") else "right")
    for r in table.itertuples():
        scenario_def = SCENARIOS.get(r.scenario)
        load = f"{r.offered_rps:g}/s" if scenario_def and scenario_def.by_rate else f"{r.users}"
        colour = colours[r.verdict]
        view.add_row(
            r.scenario,
            r.config,
            load,
            r.figure,
            _interval(r.a_median, r.a_ci_low, r.a_ci_high, r.a_repeats),
            _interval(r.b_median, r.b_ci_low, r.b_ci_high, r.b_repeats),
            f"{r.ratio_b_over_a:.3f}",
            f"[{colour}]{r.verdict}[/]",
        )
    out.print(view)


def _interval(median: float, low: float, high: float, n: int) -> str:
    if low == low and high == high:  # not NaN
        return f"{median:.4g} [{low:.4g}, {high:.4g}] (n={n})"
    return f"{median:.4g} (n={n})"


def describe(point) -> str:
    """A point in words, on the progress line: its scenario, config, load, D and c."""
    load = f"{point.scenario_def.describe_load(point)} D={point.delay_s:g}s"
    work = f" c={point.work_ms:g}ms" if point.work_ms else ""
    repeat = f" repeat {point.repeat}" if point.repeat > 1 else ""
    return f"{point.scenario} {point.config.id} {load}{work}{repeat}"

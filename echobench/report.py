"""`echobench report`: a run's charts (PNG and SVG) and report.md, from its data alone."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from echobench import plots, results

CHART_NOTES = {
    "burst_makespan": "Bars: measured time from the first request sent to the last answer; dashed "
    "tick: the model's ceil(n/K) x D. A bar at its tick is ideal.",
    "throughput_vs_users": "Solid: measured answers per second; dashed: min(C, K) / D. Where a "
    "config's solid line goes flat it has run out of slots (C > K).",
    "latency_vs_users": "Solid: measured p50 / p99; dashed: D x max(1, C/K). Closed-loop users "
    "wait for their answer before sending again, so queueing shows as latency, not as errors.",
    "memory": "Left: total server PSS (all processes, shared pages split fairly) against the "
    "number of sync workers, beside single-process servers. Right: peak PSS divided by the "
    "requests in flight at each config's busiest point.",
    "head_of_line": "A light stream of GET / while slow echoes keep the server busy: where all "
    "slots hold slow requests, the fast page queues behind them.",
    "efficiency": "Every point's measured / ideal rate; 1.00 is the model's ideal.",
}


def write_charts(summary: pd.DataFrame, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, fig in plots.all_charts(summary).items():
        for ext in ("png", "svg"):
            fig.savefig(folder / f"{name}.{ext}", dpi=110 if ext == "png" else None)
        written[name] = folder / f"{name}.png"
    return written


def _fmt(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def scenario_table(summary: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """The report's table for one scenario: the figures a reader compares."""
    data = summary[summary["scenario"] == scenario]
    data = data.assign(_o=data["config"].map(plots.ordered_configs(data["config"]).index))
    data = data.sort_values(["_o", "users", "repeat"])
    table = pd.DataFrame(
        {
            "config": data["config"],
            "users": data["users"],
            "D s": data["delay_s"].map(lambda v: f"{v:g}"),
            "rps": data["rps"].map(lambda v: _fmt(v, 1)),
            "ideal rps": data["ideal_rps"].map(lambda v: _fmt(v, 1)),
        }
    )
    if scenario == "burst":
        table["makespan s"] = data["makespan_s"].map(lambda v: _fmt(v, 3))
        table["ideal s"] = data["ideal_makespan_s"].map(lambda v: _fmt(v, 3))
    table["efficiency"] = data["efficiency"].map(lambda v: _fmt(v, 3))
    table["p50 ms"] = data["p50_ms"].map(_fmt)
    table["p99 ms"] = data["p99_ms"].map(_fmt)
    if scenario == "mixed":
        table["fast p50 ms"] = data["fast_p50_ms"].map(_fmt)
        table["fast p99 ms"] = data["fast_p99_ms"].map(_fmt)
    table["ok / sent"] = data["ok"].map(_fmt) + " / " + data["requests"].map(_fmt)
    table["failed+timeout+unfinished"] = (
        data["failed"].fillna(0) + data["timeouts"].fillna(0) + data["unfinished"].fillna(0)
    ).map(lambda v: f"{v:.0f}")
    table["PSS idle/peak MB"] = (
        data["server_pss_idle_mb"].map(_fmt) + " / " + data["server_pss_peak_mb"].map(_fmt)
    )
    table["valid"] = data["valid"].map({True: "yes", False: "**no**"})
    return table


def environment_lines(run: dict) -> list[str]:
    m, v, g = run.get("machine", {}), run.get("versions", {}), run.get("git", {})
    commit = (g.get("commit") or "unknown")[:12] + (
        " (uncommitted changes)" if g.get("dirty") else ""
    )
    return [
        f"- Machine: {m.get('cpu_model')} x {m.get('cores_logical')} logical cores, "
        f"{m.get('memory_gib')} GiB, {m.get('os')} (host `{m.get('hostname')}`)",
        f"- Python {m.get('python')}; load average at start {m.get('load_average_at_start')}",
        "- " + ", ".join(f"{k} {val}" for k, val in v.items() if val),
        f"- echobench revision {commit}; profile `{run.get('profile', {}).get('name')}`; "
        f"started {run.get('started')}, ended {run.get('ended')}, status **{run.get('status')}**",
        "- Load generator and servers share this machine's cores; figures are ratios to the "
        "model first, absolute numbers only for this machine.",
    ]


def problems(summary: pd.DataFrame, run: dict) -> list[str]:
    """What a reader must know before trusting the run, one line each."""
    lines = []
    if run.get("status") != "complete":
        lines.append(
            f"The run is **{run.get('status')}**: {run.get('points_done')} of "
            f"{run.get('points_total')} points were measured."
        )
    for row in summary[~summary["valid"]].itertuples():
        lines.append(f"`{row.point_id}` is **invalid**: {row.note or 'no reason recorded'}")
    errors = summary[(summary["valid"]) & (summary["note"] != "")]
    for row in errors.itertuples():
        lines.append(f"`{row.point_id}`: {row.note}")
    return lines


def render(run_dir: Path) -> str:
    summary = results.load_summary(run_dir)
    run = results.load_run(run_dir)
    lines = [f"# echobench report: {run.get('run_id')}", ""]
    found = problems(summary, run)
    if found:
        lines += ["## Read this first", "", *[f"- {p}" for p in found], ""]
    else:
        lines += [
            "Every point is valid: no failures, timeouts or unfinished requests, and the "
            "load generator stayed below 90% of a core.",
            "",
        ]
    lines += ["## Environment", "", *environment_lines(run), ""]
    for scenario, title in (
        ("burst", "Burst: n simultaneous requests"),
        (
            "steady",
            "Steady: closed-loop users (latency understated by coordinated omission, see README)",
        ),
        ("mixed", "Mixed: fast page beside slow echoes"),
    ):
        if (summary["scenario"] == scenario).any():
            lines += [f"## {title}", "", _table(scenario_table(summary, scenario)), ""]
    lines += ["## Charts", ""]
    for name, note in CHART_NOTES.items():
        lines += [
            f"### {name.replace('_', ' ').capitalize()}",
            "",
            note,
            "",
            f"![{name}](charts/{name}.png)",
            "",
        ]
    return "\n".join(lines)


def write_report(run_dir: Path | str | None = None) -> Path:
    """charts/ and report.md inside the run folder; returns the report's path."""
    folder = results.resolve_run(run_dir)
    write_charts(results.load_summary(folder), folder / "charts")
    path = folder / "report.md"
    results.atomic_write(path, render(folder))
    return path

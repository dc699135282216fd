"""`echobench report`: a run's charts (PNG and SVG) and report.md, from its data alone."""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import matplotlib
import pandas as pd
from markdown_it import MarkdownIt

from echobench import (
    advice,
    derived,
    findings,
    plots,
    results,
    stats,
    style,
    user_sections,
    verdict,
)
from echobench.figures import by_name
from echobench.scenarios import SCENARIOS

DECLARED = by_name()  # every figure: its heading and digits in the tables
# The server's CPU per answer is shown only over at least ten of psutil's 10 ms ticks.
MIN_SERVER_CPU_S = 0.1


def write_charts(summary: pd.DataFrame, folder: Path, run: dict | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.png"), *folder.glob("*.svg")]:  # a chart this run lacks must go
        old.unlink()
    written = {}
    for name, fig in plots.all_charts(summary, run).items():
        fig.savefig(folder / f"{name}.png", dpi=110, metadata={"Software": None})
        # the same data gives the same bytes: no date, ids salted by the chart's name
        with matplotlib.rc_context({"svg.hashsalt": name}):
            fig.savefig(folder / f"{name}.svg", metadata={"Date": None, "Creator": None})
        written[name] = folder / f"{name}.png"
    return written


def _fmt(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


_table = advice.markdown_table


def scenario_table(summary: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """The report's table for one scenario: the figures a reader compares."""
    data = SCENARIOS[scenario].rows(summary)
    data = data.assign(_o=data["config"].map(style.ordered_configs(data["config"]).index))
    work = data["work_ms"].fillna(0.0) if "work_ms" in data else pd.Series(0.0, data.index)
    data = data.assign(_work=work, _db=(data["io"] == "db").astype(int),
                       _pool=data["pool"].fillna(0))  # fmt: skip
    data = data.sort_values(["_o", "users", "offered_rps", "delay_s", "_work", "_db", "_pool",
                             "repeat"])  # fmt: skip
    table = pd.DataFrame(
        {
            "config": data["config"],
            "users": data["users"],
            "D s": data["delay_s"].map(lambda v: f"{v:g}"),
            **{
                DECLARED[name].heading: data[name].map(DECLARED[name].shown)
                for name in ("offered_rps", "rps", "ideal_rps")
            },
        }
    )
    scenario_def = SCENARIOS[scenario]
    if not scenario_def.by_rate:
        table = table.drop(columns=DECLARED["offered_rps"].heading)
    computes = (data["_work"] > 0).any()
    if computes:
        table.insert(
            table.columns.get_loc("D s") + 1, "c ms", data["_work"].map(lambda v: f"{v:g}")
        )
    if (data["io"] == "db").any():
        table.insert(1, "wait", [derived.way_label(r) for _, r in data.iterrows()])
    if (data["repeat"] > 1).any():
        table.insert(2, "repeat", data["repeat"])
    for figure in (DECLARED[name] for name in scenario_def.report_rates):
        table[figure.heading] = data[figure.name].map(figure.shown)
    for figure in (DECLARED[name] for name in ("efficiency", "p50_ms", "p99_ms")):
        table[figure.heading] = data[figure.name].map(figure.shown)
    for figure in (DECLARED[name] for name in scenario_def.report_latencies):
        table[figure.heading] = data[figure.name].map(figure.shown)
    table["ok / sent"] = data["ok"].map(_fmt) + " / " + data["requests"].map(_fmt)
    # the counts are all measured or all missing: an unmeasured point stays empty, not 0
    table["failed+timeout+unfinished"] = (
        data["failed"] + data["timeouts"] + data["unfinished"]
    ).map(_fmt)
    table["PSS idle/peak MB"] = (
        data["server_pss_idle_mb"].map(_fmt) + " / " + data["server_pss_peak_mb"].map(_fmt)
    )
    if computes:  # the CPU the server had, and how its processes shared the answers
        table["server cores"] = data["server_cores"].map(lambda v: _fmt(v, 2))
        table["busiest worker"] = data["busiest_share"].map(lambda v: _fmt(v, 2))
    if "loadgen_cpu_us_per_request" in data and data["loadgen_cpu_us_per_request"].notna().any():
        # what each side spent per request: the client's is taken from the server's cores
        server_ms = derived.with_cpu_per_request(data)["server_cpu_ms_per_request"]
        # the server's CPU moves in 10 ms ticks: under ten of them the figure is noise
        server_ms = server_ms.where(data["server_cpu_s"] >= MIN_SERVER_CPU_S)
        table["server CPU us/answer"] = (1000.0 * server_ms).map(_fmt)
        table["client CPU us/request"] = data["loadgen_cpu_us_per_request"].map(_fmt)
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
        f"- Python {m.get('python')}; load average at start "
        + ", ".join(f"{x:.2f}" for x in m.get("load_average_at_start") or []),
        "- " + ", ".join(f"{k} {val}" for k, val in v.items() if val),
        f"- echobench revision {commit}; profile `{run.get('profile', {}).get('name')}`; "
        f"started {run.get('started')}, ended {run.get('ended')}, status **{run.get('status')}**",
        "- Load generator and servers share this machine's cores; figures are ratios to the "
        "model first, absolute numbers only for this machine.",
        *_client_cost_lines(run.get("client_cost")),
    ]


def _client_cost_lines(cost: dict | None) -> list[str]:
    """run.json's `client_cost`, in words (older runs have none)."""
    if not cost:
        return []
    if "error" in cost:
        return [f"- The client's own cost was not measured: {cost['error']}"]
    return [
        f"- The client alone (one locust process, {cost['users']} users against a trivial "
        f"answerer{' on another core' if cost.get('pinned') else ''}) spent "
        f"{cost['us_per_request']:.0f} us of CPU per request at {cost['rps']:.0f} req/s: what "
        "each request sent takes from the servers' cores (per point: `loadgen_cpu_us_per_request`)."
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
    return lines


def client_clause(summary: pd.DataFrame) -> str:
    """What the load generator's columns say of it, for the report's first line: below
    the bound everywhere, or where it was not (a valid calibrate point may be)."""
    peak = summary.get("loadgen_cpu_peak_pct")
    flagged = summary.get("loadgen_bound")
    bound = False if flagged is None else flagged.fillna(False).astype(bool)
    if peak is None or peak.isna().all():
        return ", and the load generator's CPU was not sampled"
    hot = (peak >= verdict.LOADGEN_BOUND_PCT) | bound
    if not hot.any():
        return (
            f", and the load generator stayed below {verdict.LOADGEN_BOUND_PCT:g}% of a core "
            "and below its calibrated ceiling"
        )
    top = summary.loc[peak.idxmax()]
    return (
        f"; the load generator was bound at {int(hot.sum())} of {len(summary)} points (up to "
        f"{peak.max():.0f}% of a core, at `{top['point_id']}`): their rates are the client's "
        "ceiling, not the server's"
    )


def remarks(summary: pd.DataFrame) -> list[str]:
    """What the notes of valid points say: failures counted, a model gap and its causes."""
    noted = summary[summary["valid"] & (summary["note"].fillna("") != "")]
    return [f"`{row.point_id}`: {row.note}" for row in noted.itertuples()]


def render(run_dir: Path, charts: list[str]) -> str:
    """report.md's text for a run whose charts (by name) are already in charts/."""
    summary = results.load_summary(run_dir)
    run = results.load_run(run_dir)
    lines = [f"# echobench report: {run.get('run_id')}", ""]
    found = problems(summary, run)
    if found:
        lines += ["## Read this first", "", *[f"- {p}" for p in found], ""]
    else:
        lines += [
            "Every point is valid: nothing broke" + client_clause(summary)
            + ("." if not remarks(summary) else "; what valid points noted is listed below."),
            "",
        ]  # fmt: skip
    slept = derived.sleeping(summary)  # a config measured both ways: its sleep points here
    choose = advice.markdown(slept, slept, summary)
    if choose:
        lines += ["## Which to choose", "", choose, ""]
    mine = user_sections.app_lines(summary, run)
    if mine:
        lines += ["## Your app", "", *[f"- {line}" for line in mine], ""]
    checked = user_sections.advice_against_measurement(summary, run)
    if checked is not None:
        lines += ["## The advice against the measurement", "", *checked, ""]
    lines += ["## Environment", "", *environment_lines(run), ""]
    lines += _findings_section("A real database behind the wait", findings.database(summary),
                               "sleep_vs_db", charts)  # fmt: skip
    lines += _findings_section("CPU per request: when async stops winning",
                               findings.crossover(slept), "decision_map", charts)  # fmt: skip
    lines += _findings_section("When things go wrong: slow clients, overload, a crashed worker",
                               findings.faults(summary), "slow_clients", charts)  # fmt: skip
    noted = remarks(summary)
    if noted:
        lines += ["## Notes on valid points", "", *[f"- {n}" for n in noted], ""]
    for name, scenario in SCENARIOS.items():  # each scenario's own section, in its order
        if not scenario.rows(summary).empty:
            lines += [f"## {scenario.title}", "", _table(scenario_table(summary, name)), ""]
    if (summary["repeat"] > 1).any():
        lines += [
            "## Repeats: median and interval",
            "",
            "Each figure: the median of its repeats [its interval]. The interval is the "
            f"repeats' range below {stats.RANGE_BELOW} repeats (covering the true median "
            f"{stats.range_level(3):.0%} of the time at 3, {stats.range_level(5):.0%} at 5) "
            f"and a {stats.CONFIDENCE:.0%} order-statistic interval from {stats.RANGE_BELOW} "
            f"on; below {stats.MIN_REPEATS} repeats there is none, and no comparison is made "
            "(docs/methodology.md, section 6).",
            "",
            _table(repeats_table(stats.aggregate(summary))),
            "",
        ]
    calibration = run.get("calibration") or {}
    if calibration.get("loadgen_ceiling_rps"):
        lines += [
            f"Load generator ceiling (calibrated): about "
            f"{calibration['loadgen_ceiling_rps']:.0f} req/s per core of locust; points "
            "demanding 80% of it or more are marked invalid.",
            "",
        ]
    shown = "\n".join(lines)  # a chart a findings section already showed is not shown twice
    lines += ["## Charts", ""]
    for name in charts:
        image = f"![{name}](charts/{name}.png)"
        lines += [
            f"### {name.replace('_', ' ').capitalize()}",
            "",
            plots.CHARTS[name].note,
            "",
            "(shown above, beside its findings)" if image in shown else image,
            "",
        ]
    return "\n".join(lines)


def _findings_section(title: str, said: list[str], chart: str, charts: list[str]) -> list[str]:
    """A headed list of findings and, when drawn, the chart that shows them; nothing
    when the run has none."""
    if not said:
        return []
    lines = [f"## {title}", "", *[f"- {line}" for line in said]]
    if chart in charts:
        lines += ["", f"![{chart}](charts/{chart}.png)"]
    return [*lines, ""]


def write_report(run_dir: Path | str | None = None) -> Path:
    """charts/, report.md and report.html inside the run folder; returns report.md's path."""
    folder = results.resolve_run(run_dir, reference=False)  # never rewrite the reference
    charts = write_charts(results.load_summary(folder), folder / "charts", results.load_run(folder))
    path = folder / "report.md"
    text = render(folder, list(charts))
    results.atomic_write(path, text)
    results.atomic_write(folder / "report.html", render_html(text, folder))
    return path


HTML_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; }
th { background: #f3f3f3; }
tbody tr:hover { background: #fff6d6; }
/* A chart wider than the text column breaks out of it, centred, up to the window's
   width: a wide chart keeps its type size instead of shrinking to the column. */
img { display: block; max-width: calc(100vw - 2em); height: auto; position: relative;
      left: 50%; transform: translateX(-50%); }
code { background: #f3f3f3; padding: 0 3px; }
h2 { border-bottom: 1px solid #ddd; margin-top: 2em; }
"""


def render_html(markdown_text: str, folder: Path) -> str:
    """report.md as one self-contained page: the same text, each chart inlined as SVG (a
    data: URI), so the file opens offline by double-click, with no server."""
    body = MarkdownIt("commonmark").enable("table").render(markdown_text)

    def inline(match: re.Match) -> str:
        svg = folder / "charts" / f"{match.group(1)}.svg"
        if not svg.is_file():
            return match.group(0)
        data = base64.b64encode(svg.read_bytes()).decode("ascii")
        return f'<img src="data:image/svg+xml;base64,{data}" alt="{match.group(2)}"'

    body = re.sub(r'<img src="charts/([\w-]+)\.png" alt="([^"]*)"', inline, body)
    title = html.escape(markdown_text.splitlines()[0].lstrip("# "))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{HTML_STYLE}</style></head>\n<body>\n{body}</body></html>\n"
    )


def repeats_table(aggregate: pd.DataFrame) -> pd.DataFrame:
    """Per point: repeats, and the median [interval] of its main figures."""

    def spread(figure: str, digits: int):
        return [
            stats.Interval(m, lo, hi, level, int(n)).text(f"{{:.{digits}f}}")
            for m, lo, hi, level, n in zip(
                aggregate[f"{figure}_median"],
                aggregate[f"{figure}_ci_low"],
                aggregate[f"{figure}_ci_high"],
                aggregate["ci_level"],
                aggregate["repeats"],
                strict=True,
            )
        ]

    return pd.DataFrame(
        {
            "scenario": aggregate["scenario"],
            "config": aggregate["config"],
            "users": aggregate["users"],
            "interval level": [f"{v:.0%}" if v else "" for v in aggregate["ci_level"]],
            "valid / repeats": [
                f"{v:.0f} / {n}"
                for v, n in zip(aggregate["valid_repeats"], aggregate["repeats"], strict=True)
            ],
            "rps": spread("rps", 1),
            "efficiency": spread("efficiency", 3),
            "makespan s": spread("makespan_s", 3),
            "p50 ms": spread("p50_ms", 0),
            "p99 ms": spread("p99_ms", 0),
        }
    )

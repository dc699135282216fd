"""The decision summary: which server model for which need, and what each costs.

Built from a run's own figures (and, where one exists, a CPU sweep's decision map), so
the advice at the top of a report or the README is never written around the numbers.
"""

from __future__ import annotations

import pandas as pd

from echobench import decision, derived, model
from echobench.configs import FAMILIES, ConfigError, get_config
from echobench.scenarios.burst import BURST
from echobench.scenarios.mixed import MIXED
from echobench.scenarios.steady import STEADY
from echobench.style import k_label, ordered_configs

# The classic demonstration the table quotes: n simultaneous requests of D seconds.
CLASSIC_BURST = (200, 2.0)


def _burst(summary: pd.DataFrame) -> pd.Series:
    n, d = CLASSIC_BURST
    rows = summary[
        (summary["scenario"] == BURST.name) & (summary["users"] == n) & (summary["delay_s"] == d)
    ]
    return rows.groupby("config")["makespan_s"].median()


def _memory_per_request(summary: pd.DataFrame) -> pd.Series:
    """Peak PSS over the requests held at once, at each config's fullest point."""
    fullest = derived.fullest_points(summary)
    return fullest["per_request"].set_axis(fullest["config"])


def _fast_page(summary: pd.DataFrame) -> pd.Series:
    work = summary["work_ms"].fillna(0.0) if "work_ms" in summary else 0.0
    mixed = summary[(summary["scenario"] == MIXED.name) & (work == 0)]
    return mixed.groupby("config")["fast_p50_ms"].median()


def table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per config with at least one of the three figures, in reading order."""
    burst, memory, fast = _burst(summary), _memory_per_request(summary), _fast_page(summary)
    n, d = CLASSIC_BURST
    rows = []
    for config in ordered_configs(set(burst.index) | set(memory.index) | set(fast.index)):
        try:
            cfg = get_config(config)
        except ConfigError:
            continue  # a config this version does not know
        rows.append(
            {
                "config": config,
                "K (slots)": k_label(cfg.capacity),
                "P (processes)": cfg.parallel,
                f"{n} x {d:g} s burst": _fmt(burst.get(config), "{:.2f} s"),
                "MB per request in flight": _fmt(memory.get(config), "{:.2f}"),
                "fast page while busy": _fmt(fast.get(config), "{:.1f} ms"),
                "pitfall": FAMILIES[cfg.family].pitfall,
            }
        )
    frame = pd.DataFrame(rows)
    return frame.loc[:, (frame != "").any()] if len(frame) else frame  # no empty column


def _fmt(value, text: str) -> str:
    return "" if value is None or pd.isna(value) else text.format(value)


def sentences(
    summary: pd.DataFrame, sweep: pd.DataFrame | None = None, db: pd.DataFrame | None = None
) -> list[str]:
    """A few plain sentences: mostly waiting, memory, a fast page, requests that also
    compute (from `sweep`, a run with a CPU sweep) and a database behind the wait (from
    `db`, a run with io = db points), each where there is one."""
    lines = []
    burst = _burst(summary).dropna()
    if len(burst) > 1:
        best, worst = burst.idxmin(), burst.idxmax()
        n, d = CLASSIC_BURST
        processes = get_config(best).workers
        lines.append(
            f"Mostly waiting: an event loop holds every request at once, so {best} answered "
            f"{n} simultaneous {d:g} s requests in {burst[best]:.2f} s with {processes} "
            f"process{'es' if processes > 1 else ''}; {worst} needed {burst[worst]:.2f} s, "
            "serving in rounds of its slots K."
        )
    slope = derived.idle_pss_per_worker_mb(derived.sync_workers(summary))
    memory = _memory_per_request(summary).dropna()
    if slope is not None and len(memory):
        cheap = memory.idxmin()
        lines.append(
            f"What a slot costs: each {derived.SYNC_FAMILY} worker adds about {slope:.0f} MB; "
            f"{cheap} held its requests at {memory[cheap]:.2f} MB each."
        )
    fast = _fast_page(summary).dropna()
    if len(fast) > 1:
        lines.append(
            f"A fast page behind busy slots waited {fast.max():.0f} ms on {fast.idxmax()} and "
            f"{fast.min():.1f} ms on {fast.idxmin()}: when every slot is busy, the next "
            "request queues whatever it costs."
        )
    cells = decision.decide(sweep) if sweep is not None else []
    computing = [c for c in cells if c.work_ms and c.winners]
    if computing:
        counts = pd.Series([w for c in computing for w in c.winners[:1]]).value_counts()
        example_ms = 1000.0 * model.loop_loses_above_s(0.1, 4)
        lines.append(
            "Requests that also compute: one event loop runs all their CPU on one core, so "
            "in the model it loses to N sync worker processes once c passes D / (N - 1), "
            f"where the cores let more than one compute (four workers, D = 100 ms: from "
            f"{example_ms:.0f} ms); "
            f"{counts.index[0]} answered the most in {counts.iloc[0]} of {len(computing)} "
            "measured (D, c) cells with CPU work (the decision map)."
        )
    pooled = _pool_sentence(db) if db is not None else None
    if pooled:
        lines.append(pooled)
    return lines


def _pool_sentence(db: pd.DataFrame) -> str | None:
    """The steady config whose smallest pool cost it the most against sleeping."""
    steady = STEADY.rows(db)
    steady = steady[steady["valid"]]
    found = None
    for config, rows in steady.groupby("config"):
        slept, pooled = rows[rows["io"] != "db"], rows[rows["io"] == "db"]
        if slept.empty or pooled.empty:
            continue
        small, large = pooled.loc[pooled["pool"].idxmin()], pooled.loc[pooled["pool"].idxmax()]
        drop = slept["rps"].max() / small["rps"]
        if found is None or drop > found[0]:
            found = (drop, config, slept.loc[slept["rps"].idxmax()], small, large)
    if found is None or found[0] < 1.5:
        return None
    _, config, slept, small, large = found
    text = (
        f"A database behind the wait: the pool is K. Through {int(small['pool'])} connections "
        f"{config} answered {small['rps']:.0f} req/s at C = {int(small['users'])} and D = "
        f"{1000 * small['delay_s']:g} ms, where sleeping it answered {slept['rps']:.0f}"
    )
    if large["pool"] > small["pool"]:
        text += f"; through {int(large['pool'])}, {large['rps']:.0f}"
    return text + (". Size each process's pool to the requests it should hold at once, and "
                   "the database's max_connections to all the pools together.")  # fmt: skip


def markdown(
    summary: pd.DataFrame, sweep: pd.DataFrame | None = None, db: pd.DataFrame | None = None
) -> str:
    """The summary as markdown: the sentences, then the table."""
    rows = table(summary)
    lines = [f"- {s}" for s in sentences(summary, sweep, db)]
    if not rows.empty:
        lines += ["", "| " + " | ".join(rows.columns) + " |"]
        lines += ["| " + " | ".join("---" for _ in rows.columns) + " |"]
        lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows.itertuples(index=False)]
    return "\n".join(lines)

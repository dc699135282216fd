"""The decision summary: which server model for which need, and what each costs.

Built from a run's own figures (and, where one exists, a CPU sweep's decision map), so
the advice at the top of a report or the README is never written around the numbers.
"""

from __future__ import annotations

import math

import pandas as pd

from echobench import costs, decision, model, stats
from echobench.configs import FAMILIES, ConfigError, get_config
from echobench.scenarios import faulting
from echobench.scenarios.burst import BURST
from echobench.scenarios.mixed import MIXED
from echobench.scenarios.steady import STEADY
from echobench.style import k_label, ordered_configs

# The classic demonstration the table quotes: n simultaneous requests of D seconds.
CLASSIC_BURST = (200, 2.0)
# A rate below this share of its model is flagged in the table, with the point's reason.
FLAG_BELOW = 0.9


def _burst(summary: pd.DataFrame) -> pd.Series:
    n, d = CLASSIC_BURST
    rows = summary[
        (summary["scenario"] == BURST.name) & (summary["users"] == n) & (summary["delay_s"] == d)
    ]
    return rows.groupby("config")["makespan_s"].median()


def _fast_page(summary: pd.DataFrame) -> pd.Series:
    work = summary["work_ms"].fillna(0.0) if "work_ms" in summary else 0.0
    mixed = summary[(summary["scenario"] == MIXED.name) & (work == 0)]
    return mixed.groupby("config")["fast_p50_ms"].median()


# No figure here is stated to more digits than this, however many answers: a repeat
# moves a rate by more than 0.1% on a shared machine, and a p99 by far more.
MAX_DIGITS = 4
P99_DIGITS = 3


def significant(value: float, answers: float, most: int = MAX_DIGITS) -> str:
    """`value` to the digits its sample supports: one answer more or fewer moves a rate
    by 1 / n, so n answers carry about log10(n) significant digits (at least 2, at most
    `most`)."""
    if value is None or pd.isna(value):
        return ""
    answers = answers if answers == answers else 1.0  # NaN: as few as can be
    digits = min(most, max(2, math.ceil(math.log10(max(answers, 1.0)))))
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def table_points(summary: pd.DataFrame) -> dict[str, tuple]:
    """The steady (D, C, c) points the table reads: waiting only (c = 0) and with CPU
    (c > 0), each the one measured for the most configs (the first such on a tie)."""
    steady = STEADY.rows(summary)
    work = steady["work_ms"].fillna(0.0) if "work_ms" in steady else pd.Series(0.0, steady.index)
    io = steady["io"] if "io" in steady else pd.Series("sleep", steady.index)
    steady = steady.assign(work_ms=work)[io != "db"]
    out = {}
    for label, rows in (("waiting", steady[work == 0]), ("cpu", steady[work > 0])):
        if rows.empty:
            continue
        counts = rows.groupby(["delay_s", "users", "work_ms"], sort=False)["config"].nunique()
        out[label] = counts.idxmax()
    return out


def _at(summary: pd.DataFrame, key: tuple, config: str) -> pd.DataFrame:
    delay, users, work = key
    steady = STEADY.rows(summary)
    work_col = steady["work_ms"].fillna(0.0) if "work_ms" in steady else 0.0
    io = steady.get("io", "sleep")
    return steady[(steady["config"] == config) & (steady["delay_s"] == delay)
                  & (steady["users"] == users) & (work_col == work) & (io != "db")]  # fmt: skip


def _rate(rows: pd.DataFrame) -> str:
    """The median rate (with its interval from 3 repeats), its share of the model, and
    a flag with the reason below 0.9 of it; "not measured" when no point was."""
    rows = rows.dropna(subset=["rps"])  # a point that measured nothing has no rate
    if rows.empty:
        return "not measured"
    span = stats.median_interval(rows["rps"])
    answers = rows["ok"].median()
    text = significant(span.median, answers)
    if span.known:
        text += f" [{significant(span.low, answers)}, {significant(span.high, answers)}]"
    else:
        text += f" (n = {span.n})"
    efficiency = rows["efficiency"].median()
    text += f", {efficiency:.2f} of model"
    if efficiency < FLAG_BELOW:
        notes = rows["note"].dropna() if "note" in rows else pd.Series(dtype=str)
        notes = notes[notes.astype(str).str.strip() != ""]
        reason = str(notes.iloc[0]).split(";")[0] if len(notes) else "no reason in its note"
        text += f" (below {FLAG_BELOW:g}: {reason})"
    return text


def point_table(summary: pd.DataFrame, key: tuple, pitfall: bool = True) -> pd.DataFrame:
    """One table point's table: a row per config measured there, every cell a measurement
    of that point (K, P, its rate against the model, its p99, the server's peak PSS) and,
    with `pitfall`, the family's pitfall. A column some row lacks is dropped whole: the
    table has no holes."""
    rows = []
    for config in ordered_configs(summary["config"]):
        try:
            cfg = get_config(config)
        except ConfigError:
            continue  # a config this version does not know
        at = _at(summary, key, config).dropna(subset=["rps"])
        if at.empty:
            continue
        peak = at["server_pss_peak_mb"].median() if "server_pss_peak_mb" in at else math.nan
        rows.append({
            "config": config, "K (slots)": k_label(cfg.capacity), "P (processes)": cfg.parallel,
            "req/s": _rate(at),
            "p99 ms": significant(at["p99_ms"].median(), at["ok"].median(), P99_DIGITS),
            "peak MB": f"{peak:.0f}" if pd.notna(peak) else "",
            **({"pitfall": FAMILIES[cfg.family].pitfall} if pitfall else {}),
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    return frame.loc[:, (frame != "").all()] if len(frame) else frame


def memory_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The fitted memory costs (costs.py): what each added worker of a family and each
    added request in flight on a config cost, with the 95% interval, what the fit spans
    and its residual. Only fits are shown: a single point's PSS / requests is noise."""
    rows = [
        {"cost": f"each added {family} worker (idle PSS)", "MB": fit.text(),
         "fitted over": f"{fit.loads} worker counts ({fit.n} points), residual "
                        f"{fit.residual:.2g} MB"}
        for family, fit in costs.per_worker(summary).items()
    ] + [
        {"cost": f"each request {config} holds in flight (peak PSS)", "MB": fit.text(),
         "fitted over": f"{fit.loads} loads ({fit.n} points), residual {fit.residual:.2g} MB"}
        for config, fit in costs.per_request(summary).items()
    ]  # fmt: skip
    return pd.DataFrame(rows)


TABLE_TITLES = {"waiting": "Waiting only", "cpu": "Waiting and computing"}


def tables(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The summary's tables, each complete: one per table point (the pitfalls under the
    first), then the fitted memory costs; a table with no rows is left out."""
    out = []
    for i, (label, key) in enumerate(table_points(summary).items()):
        delay, users, work = key
        where = f"D = {1000 * delay:g} ms" + (f", c = {work:g} ms" if work else "")
        frame = point_table(summary, key, pitfall=i == 0)
        if len(frame):
            out.append((f"{TABLE_TITLES[label]} ({where}, C = {users} users)", frame))
    memory = memory_table(summary)
    if len(memory):
        out.append(("What memory costs (least-squares fits, 95% intervals)", memory))
    return out


def fault_scenarios(summary: pd.DataFrame) -> list:
    """The scenarios of this run that make something go wrong (their `survives` says)."""
    return [s for s in faulting() if not s.rows(summary).empty]


def sentences(
    summary: pd.DataFrame, sweep: pd.DataFrame | None = None, db: pd.DataFrame | None = None
) -> list[str]:
    """A few plain sentences: mostly waiting, memory, a fast page, requests that also
    compute (from `sweep`, a run with a CPU sweep) and a database behind the wait (from
    `db`, a run with io = db points), each where there is one."""
    lines = _job_sentences(summary, sweep)
    burst = _burst(summary).dropna()
    if len(burst) > 1:
        best, worst = burst.idxmin(), burst.idxmax()
        n, d = CLASSIC_BURST
        processes = get_config(best).workers
        worst_k = get_config(worst).capacity
        text = (
            f"Mostly waiting: an event loop holds every request at once, so {best} answered "
            f"{n} simultaneous {d:g} s requests in {burst[best]:.2f} s with {processes} "
            f"process{'es' if processes > 1 else ''}"
        )
        if math.isfinite(worst_k) and worst_k < n:  # only slots that make rounds explain it
            text += (
                f"; {worst} needed {burst[worst]:.2f} s, serving in rounds of its {worst_k:g} slots"
            )
        lines.append(text + ".")
    worker = costs.per_worker(summary)
    requests = costs.per_request(summary)
    sync = [f for f in worker if FAMILIES[f].model == "sync"]
    parts = [f"each {f} worker adds {worker[f].text()}" for f in sync]
    costly = {c: f for c, f in requests.items() if f.measurable and f.slope > 0}
    if costly:
        cheap = min(costly, key=lambda c: costly[c].slope)
        parts.append(f"each request {cheap} holds adds {costly[cheap].text()}")
    if parts:
        lines.append("What a slot costs (fitted memory): " + "; ".join(parts) + ".")
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
        example_ms = 1000.0 * model.loop_loses_above_s(0.1, 4)
        lines.append(
            "Requests that also compute: one event loop runs all their CPU on one core, so "
            "in the model it loses to N sync worker processes once c passes D / (N - 1), "
            f"where the cores let more than one compute (four workers, D = 100 ms: from "
            f"{example_ms:.0f} ms); " + _map_outcome(computing)
        )
    pooled = _pool_sentence(db) if db is not None else None
    if pooled:
        lines.append(pooled)
    return lines


def _job_sentences(summary: pd.DataFrame, sweep: pd.DataFrame | None) -> list[str]:
    """The decision in plain words, per workload the runs measured: the cheapest config
    whose throughput is within the best one's interval (and p99 within the bound), then
    what each other config costs more or does worse."""
    workloads = []
    for label, key in table_points(summary).items():
        rows = _rows_at(summary, key)
        what = "Waiting only" if label == "waiting" else "Waiting and computing"
        workloads.append((what, rows["users"].iloc[0], decision.at_point(rows)))
    said = {(c.delay_s, c.work_ms, int(u)) for _, u, c in workloads}
    cells = decision.decide(sweep) if sweep is not None else []
    users = int(decision.cpu_points(sweep)["users"].median()) if cells else 0
    cells = [c for c in cells if c.work_ms and (c.delay_s, c.work_ms, users) not in said]
    if cells:  # the sweep's own points, where the table's points did not already say them
        at_d = [c for c in cells if c.delay_s == max(c.delay_s for c in cells)]
        low, high = min(at_d, key=lambda c: c.cpu_share), max(at_d, key=lambda c: c.cpu_share)
        workloads += [
            (f"CPU share {c.cpu_share:.2f}", users, c) for c in dict.fromkeys((low, high))
        ]
    return [line for what, users, cell in workloads if (line := _job(what, users, cell))]


def _rows_at(summary: pd.DataFrame, key: tuple) -> pd.DataFrame:
    rows = pd.concat([_at(summary, key, c) for c in ordered_configs(summary["config"])])
    return rows.assign(work_ms=key[2])  # a run from before CPU work has it empty


def _span(rate: stats.Interval) -> str:
    """A rate and its interval at three significant digits (the sentences' resolution)."""
    if not rate.known:
        return f"{significant(rate.median, 100, 3)} (n = {rate.n})"
    return "{} [{}, {}]".format(
        *(significant(v, 1000, 3) for v in (rate.median, rate.low, rate.high))
    )


def _job(what: str, users: int, cell) -> str | None:
    if cell.rps is None:
        if not cell.excluded:
            return None
        return (f"{what} (D = {1000 * cell.delay_s:g} ms, c = {cell.work_ms:g} ms, {users} "
                f"users): no config kept its p99 within {decision.P99_BOUND_FACTOR:g} x (D + c)"
                f" = {cell.p99_bound_ms:g} ms, so none does the job by that bound.")  # fmt: skip
    where = (
        f"{what} (D = {1000 * cell.delay_s:g} ms"
        + (f", c = {cell.work_ms:g} ms" if cell.work_ms else "")
        + f", {users} users)"
    )
    if not cell.rps.known:
        return (
            f"{where}: each of {len(cell.ranked)} configs was measured fewer than "
            f"{stats.MIN_REPEATS} times, too few to tell them apart, so none is named."
        )
    if cell.cheapest is None:
        return None
    top = next(r for c, r, _, _ in cell.ranked if c == cell.cheapest)
    text = (
        f"{where}: {cell.cheapest} does the job for the least memory ({cell.cheapest_pss_mb:.0f}"
        f" MB at peak, {_span(top)} req/s)"
    )
    tied = [f"{c} (+{m - cell.cheapest_pss_mb:.0f} MB)" for c, _, m, t in cell.ranked
            if t and c != cell.cheapest]  # fmt: skip
    if tied:
        text += "; as many answers within the intervals, for more memory: " + ", ".join(tied)
    fewer = [f"{c} ({_span(r)})" for c, r, _, t in cell.ranked if not t]
    if fewer:
        text += "; fewer answers: " + ", ".join(fewer)
    return text + "."


def _map_outcome(cells: list) -> str:
    """What the measured CPU cells decided, by their intervals, in a clause."""
    few = [c for c in cells if c.rps is not None and not c.rps.known]
    text = f"of {len(cells)} measured (D, c) cells with CPU work, "
    if len(few) == len(cells):
        return text + (
            f"none was measured {stats.MIN_REPEATS} times or more, so none names a winner "
            "(the decision map)."
        )
    decided = [c for c in cells if c.decided]
    if decided:
        wins = pd.Series([c.winners[0] for c in decided]).value_counts()
        each = [f"{config} won {n} alone" if i == 0 else f"{config} {n}"
                for i, (config, n) in enumerate(wins.items())]  # fmt: skip
        clear = "its interval" if len(wins) == 1 else "each winner's interval"
        text += ", ".join(each) + f" ({clear} clear of the rest)"
    else:
        text += "none had a sole winner"
    ties = len(cells) - len(decided)
    text += f", {ties} {'was a tie' if ties == 1 else 'were ties'}"
    if few:
        text += f" ({len(few)} of them measured fewer than {stats.MIN_REPEATS} times)"
    cheap = pd.Series([c.cheapest for c in cells if c.cheapest]).value_counts()
    if len(cheap):
        text += f"; the least memory within the best's interval: {cheap.index[0]}, in "
        text += f"{cheap.iloc[0]}"
    return text + " (the decision map)."


def _pool_sentence(db: pd.DataFrame) -> str | None:
    """The steady config whose smallest pool cost it the most against sleeping, each way
    its repeats' median with their interval."""
    steady = STEADY.rows(db)
    steady = steady[steady["valid"]]
    found = None
    for config, rows in steady.groupby("config"):
        slept, pooled = rows[rows["io"] != "db"], rows[rows["io"] == "db"]
        if slept.empty or pooled.empty:
            continue
        by_pool = {pool: stats.median_interval(way["rps"]) for pool, way in pooled.groupby("pool")}
        small, large = min(by_pool), max(by_pool)
        asleep = stats.median_interval(slept["rps"])
        drop = asleep.median / by_pool[small].median
        if found is None or drop > found[0]:
            found = (drop, config, asleep, small, large, by_pool, pooled.iloc[0])
    if found is None or found[0] < 1.5:
        return None
    _, config, asleep, small, large, by_pool, row = found
    text = (
        f"A database behind the wait: the pool is K. Through {small:g} connections {config} "
        f"answered {by_pool[small].text('{:.0f}')} req/s at C = {int(row['users'])} and D = "
        f"{1000 * row['delay_s']:g} ms, where sleeping it answered {asleep.text('{:.0f}')}"
    )
    if large > small:
        text += f"; through {large:g}, {by_pool[large].text('{:.0f}')}"
    return text + (". Size each process's pool to the requests it should hold at once, and "
                   "the database's max_connections to all the pools together.")  # fmt: skip


def markdown(
    summary: pd.DataFrame,
    sweep: pd.DataFrame | None = None,
    db: pd.DataFrame | None = None,
    faults: pd.DataFrame | None = None,
) -> str:
    """The summary as markdown: the sentences (what each config stood from `faults`, a
    run of the fault scenarios, else from `summary` itself), then the tables."""
    said = sentences(summary, sweep, db) + fault_sentences(summary if faults is None else faults)
    lines = [f"- {s}" for s in said]
    for title, frame in tables(summary):
        lines += ["", f"**{title}**", "", markdown_table(frame)]
    return "\n".join(lines)


def markdown_table(frame: pd.DataFrame) -> str:
    """A frame as a markdown table (the report's and the decision summary's)."""
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def fault_sentences(faults: pd.DataFrame) -> list[str]:
    """One line per fault scenario the run has: what each of its configs stood."""
    said = []
    for scenario in fault_scenarios(faults):
        rows = scenario.rows(faults)
        rows = rows[rows["valid"].astype(bool)]
        parts = [f"{config}: {scenario.survives(rows[rows['config'] == config])}"
                 for config in ordered_configs(rows["config"])]  # fmt: skip
        if parts:
            said.append(f"{scenario.title.split(':')[0]}: " + "; ".join(parts) + ".")
    return said

"""Plain-language findings computed from a run's summary, for the report and notebook.

Sentences are built from the numbers, never written around them, so they stay true
for whatever run is loaded.
"""

from __future__ import annotations

import pandas as pd

from echobench import costs, decision, derived, model, stats
from echobench.configs import get_config
from echobench.scenarios import SCENARIOS, faulting
from echobench.scenarios.burst import BURST
from echobench.scenarios.calibrate import CALIBRATE
from echobench.scenarios.steady import STEADY
from echobench.style import k_label, ordered_configs


def memory(summary: pd.DataFrame) -> list[str]:
    """The fitted costs: per sync worker, per request in flight (costs.py)."""
    lines = []
    per_n = derived.sync_workers(summary)
    worker = costs.per_worker(summary).get(derived.SYNC_FAMILY)
    if worker is not None:
        lines.append(
            f"{derived.SYNC_FAMILY}: each worker adds {worker.text()} of idle PSS (a fit over "
            f"{worker.loads} worker counts, residual {worker.residual:.1f} MB): "
            + ", ".join(
                f"{n} workers {mb:.0f} MB"
                for n, mb in zip(per_n["workers"], per_n["idle"], strict=True)
            )
            + "."
        )
    fits = costs.per_request(summary)
    for config in ordered_configs(fits):
        f = fits[config]
        lines.append(
            f"{config}: each added request in flight costs {f.text()} of peak PSS (a fit over "
            f"{f.loads} loads, residual {f.residual:.1f} MB)."
        )
    return lines


def validity(summary: pd.DataFrame) -> list[str]:
    bad = summary[~summary["valid"]]
    if bad.empty:
        return [f"All {len(summary)} points are valid."]
    return [
        f"{len(bad)} of {len(summary)} points are invalid: "
        + "; ".join(f"{r.point_id} ({r.note})" for r in bad.itertuples())
        + "."
    ]


def scale(summary: pd.DataFrame, calibration: dict | None) -> list[str]:
    r0 = (calibration or {}).get("r0_rps", {})
    lower = (calibration or {}).get("r0_rps_lower_bound", {})
    lines = [
        f"{config}: zero-delay capacity R0 = {rate:.0f} req/s on this machine."
        for config, rate in r0.items()
    ] + [
        f"{config}: R0 >= {rate:.0f} req/s (client-bound: the load generator was the busier "
        "side, so no burst floor is derived from it)."
        for config, rate in lower.items()
    ]
    bursts = BURST.rows(summary)
    for row in bursts.sort_values(["config", "users"]).itertuples():
        if row.users < 1000:
            continue
        floor = (
            model.burst_floor_s(row.users, row.delay_s, r0[row.config])
            if row.config in r0
            else None
        )
        made = f"{row.makespan_s:.2f} s" if pd.notna(row.makespan_s) else "no makespan"
        lines.append(
            f"{row.config}: {row.users} simultaneous requests, {made}, "
            f"ideal {row.ideal_makespan_s:g} s"
            + (f", floor D + n/R0 = {floor:.2f} s" if floor else "")
            + f", {row.failed + row.timeouts:.0f} failed or timed out, {row.unfinished:.0f} "
            f"unfinished, peak PSS {row.server_pss_peak_mb:.0f} MB"
            + (
                f", sends spread over {row.send_spread_ms:.0f} ms"
                if pd.notna(getattr(row, "send_spread_ms", None))
                else ""
            )
            + ("" if row.valid else f" [invalid: {row.note}]")
            + "."
        )
    return lines


def _one_loop_and_sync(sweep: pd.DataFrame) -> tuple[str | None, str | None]:
    """The sweep's single async process and its sync config with the most workers."""
    loops = sweep[(sweep["model"] == "async") & (sweep["workers"] == 1)]["config"]
    syncs = sweep[sweep["model"] == "sync"].sort_values("workers")["config"]
    return (loops.iloc[0] if len(loops) else None), (syncs.iloc[-1] if len(syncs) else None)


def _model_crossover_ms(loop: pd.Series, sync: pd.Series) -> float | None:
    """The CPU ms per request from which the sync config's ideal rate beats the loop's,
    at the loop's D and users (bisection over 0..10 s); None if it never does."""

    def gap(work_ms: float) -> float:
        def rate(row: pd.Series) -> float:
            k, p, m = (float(row[name]) for name in ("capacity", "parallel", "cores"))
            return model.ideal_rps(int(row["users"]), k, row["delay_s"], work_ms / 1000.0, p, m)

        return rate(sync) - rate(loop)

    low, high = 0.0, 10_000.0
    if gap(high) <= 0:
        return None
    if gap(low) > 0:
        return 0.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (low, mid) if gap(mid) > 0 else (mid, high)
    return high


def crossover(summary: pd.DataFrame) -> list[str]:
    """Where one async process stops winning, per wait D, measured beside the model;
    how the decision map's winners compare with the model's; the spread over workers."""
    sweep = decision.cpu_points(summary)
    if sweep.empty:
        return []
    lines = []
    loop, sync = _one_loop_and_sync(sweep)
    for delay, at_d in sweep.groupby("delay_s"):
        spans = at_d.groupby(["config", "work_ms"])["rps"].apply(stats.median_interval)
        per = spans.unstack("config")
        if loop not in per or sync not in per:
            continue
        model_ms = _model_crossover_ms(
            at_d[at_d["config"] == loop].iloc[0], at_d[at_d["config"] == sync].iloc[0]
        )
        where = f"model: from c = {model_ms:.1f} ms" if model_ms is not None else "model: never"
        pairs = per[[loop, sync]].dropna()
        ahead = [c for c, (lo, sy) in pairs.iterrows() if sy.clears(lo)]
        behind = [c for c, (lo, sy) in pairs.iterrows() if lo.clears(sy)]
        head = f"At D = {1000 * delay:g} ms, {sync} against one async process ({loop}): "
        if not any(lo.known and sy.known for lo, sy in pairs.itertuples(index=False)):
            lines.append(
                head + f"no c was measured {stats.MIN_REPEATS} times on both, so no c "
                f"decides between them ({where})."
            )
            continue
        first = min(ahead) if ahead else None
        told = (
            f"{sync} answered more from c = {first:g} ms ({pairs.at[first, sync].text()} "
            f"against {pairs.at[first, loop].text()} req/s)"
            if first is not None
            else f"{sync} answered more at no measured c"
        )
        led = f"; {loop} answered more at c = " + ", ".join(f"{c:g}" for c in behind) + " ms"
        ties = len(pairs) - len(ahead) - len(behind)
        lines.append(
            head + told + (led if behind else "") + f"; {ties} of {len(pairs)} measured c "
            f"were ties within the repeats' intervals ({where})."
        )
    cells = decision.decide(summary)
    decided = [c for c in cells if c.decided]
    agree = [c for c in decided if c.model_agrees]
    lines.append(
        f"Decision map: {len(decided)} of {len(cells)} cells have a sole winner by the "
        f"repeats' intervals; in {len(agree)} of those it is among the model's picks"
        + "".join(
            f"; D = {1000 * c.delay_s:g} ms, c = {c.work_ms:g} ms: measured {c.winners[0]}, "
            f"model {' = '.join(c.model_winners)}"
            for c in decided
            if not c.model_agrees
        )
        + "."
    )
    spread = sweep[(sweep["workers"] > 1) & (sweep["work_ms"] > 0)].dropna(subset=["busiest_share"])
    for config in ordered_configs(spread["config"]):
        rows = spread[spread["config"] == config]
        lines.append(
            f"{config}: its busiest worker answered {rows['busiest_share'].min():.0%} to "
            f"{rows['busiest_share'].max():.0%} of a CPU point's requests (even: "
            f"{1 / rows['workers'].iloc[0]:.0%}); efficiency {rows['efficiency'].min():.2f} to "
            f"{rows['efficiency'].max():.2f}."
        )
    valid = sweep[sweep["valid"] & sweep["efficiency"].notna()]
    near = (valid["efficiency"] - 1).abs() <= 0.10
    explained = valid[~near]["note"].fillna("").str.contains("the model")
    lines.append(
        f"{int(near.sum())} of {len(valid)} valid CPU-sweep points are within 10% of the "
        f"model; {int(explained.sum())} of the other {int((~near).sum())} say why in their "
        "notes (the busiest worker's share, the cores the server had, the median latency)."
    )
    return lines


def database(summary: pd.DataFrame) -> list[str]:
    """io = db against sleep: per config and load, the rate or makespan each way of waiting
    reached against its model (the median of its repeats with their interval), what
    bound K, and the CPU each answer cost."""
    data = summary[summary["scenario"].isin([CALIBRATE.name, BURST.name, STEADY.name])]
    if not (data["io"] == "db").any():
        return []
    lines = []
    groups = data.groupby(["scenario", "users", "delay_s"])
    for (scenario, users, delay), group in sorted(groups, key=lambda g: SCENARIOS[g[0][0]].order):
        for config in ordered_configs(group["config"]):
            rows = group[group["config"] == config]
            if not (rows["io"] == "db").any():
                continue
            parts = [_way(way, scenario) for way in _by_way(rows)]
            load = f"{SCENARIOS[scenario].load_symbol} = {users}"
            lines.append(f"{config}, {scenario}, {load}, D = {1000 * delay:g} ms: "
                         + "; ".join(parts) + ".")  # fmt: skip
    lines += _cpu_cost(STEADY.rows(data))
    db = data[(data["io"] == "db") & data["valid"] & data["efficiency"].notna()]
    if len(db):
        point = db.assign(_pool=db["pool"].fillna(0)).groupby(
            ["scenario", "config", "users", "delay_s", "_pool"])  # fmt: skip
        efficiency = point["efficiency"].median()
        within = (efficiency - 1).abs() <= 0.10
        bound = efficiency[(point["capacity"].first() < point["users"].first())]
        spread = ""
        if len(bound):
            spread = "; where the pool or the server's slots bound K (C > K), efficiency ran "
            spread += f"{bound.min():.3f} to {bound.max():.3f}"
        off = db[~(db["efficiency"] - 1).abs().le(0.10)]
        named = off["note"].str.contains("the model: ") & ~off["note"].str.contains("no measured")
        away = int((~within).sum())
        said = f"; the other {away}: their notes name the cause" if away else ""
        if len(off) and not named.all():
            said = (f"; {int((~named).sum())} of their {len(off)} repeats off the model have no "
                    "measured cause")  # fmt: skip
        lines.append(
            f"{int(within.sum())} of {len(efficiency)} db points with a model are within 10% of "
            "it by the median of their repeats" + said + spread + "."
        )
    return lines


def _by_way(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """Each way of waiting (sleep, then db by pool size) with its repeats."""
    ranked = rows.assign(_db=(rows["io"] == "db").astype(int), _pool=rows["pool"].fillna(0))
    return [way for _, way in ranked.groupby(["_db", "_pool"], sort=True)]


def _way(rows: pd.DataFrame, scenario: str) -> str:
    """One way of waiting over its repeats: its figure as median [interval]."""
    row = rows.iloc[0]
    way = derived.way_label(row)
    k = f"K = {k_label(row['capacity'])}"
    scenario_def = SCENARIOS[scenario]
    if scenario_def.calibrates:
        said = f"{way}: R0 = {stats.median_interval(rows['rps']).text('{:.0f}')} req/s"
    elif scenario_def.fixed_requests:
        done = rows["makespan_s"].dropna()
        if done.empty:
            return f"{way}: did not all finish ({int(rows['failed'].sum())} failed)"
        said = (f"{way}: {stats.median_interval(done).text('{:.2f}')} s (model "
                f"{row['ideal_makespan_s']:g} s, {k})")  # fmt: skip
    else:
        said = (f"{way}: {stats.median_interval(rows['rps']).text('{:.0f}')} req/s (model "
                f"{row['ideal_rps']:.0f}, {k}), p99 {rows['p99_ms'].median():.0f} ms")  # fmt: skip
    if row["io"] == "db" and "pool_wait_p50_ms" in rows and rows["pool_wait_p50_ms"].notna().any():
        said += f", median wait for a connection {rows['pool_wait_p50_ms'].median():.1f} ms"
    if rows["failed"].sum():
        said += f", {int(rows['failed'].sum())} failed"
    invalid = int((~rows["valid"].astype(bool)).sum())
    return said + (f" [{invalid} of {len(rows)} invalid]" if invalid else "")


def _cpu_cost(steady: pd.DataFrame) -> list[str]:
    """Per config: CPU per answer sleeping, and through the database at its largest pool
    (the one that binds least, so the rate and the CPU clock's resolution are best), each
    the median over its repeats."""
    data = derived.with_cpu_per_request(steady.dropna(subset=["server_cpu_s", "rps"]))
    lines = []
    for config in ordered_configs(data["config"]):
        rows = data[data["config"] == config]
        slept, db = rows[rows["io"] != "db"], rows[rows["io"] == "db"]
        if slept.empty or db.empty:
            continue
        busy = db[db["pool"].fillna(0) == db["pool"].fillna(0).max()]
        postgres = busy["db_cpu_ms_per_request"].median()
        lines.append(
            f"{config}: {slept['server_cpu_ms_per_request'].median():.2f} ms of server CPU per "
            f"answer sleeping, {busy['server_cpu_ms_per_request'].median():.2f} ms with the "
            f"query ({derived.way_label(busy.iloc[0])})"
            + (f", and {postgres:.3f} ms in PostgreSQL" if pd.notna(postgres) else "")
            + "."
        )
    return lines


def faults(summary: pd.DataFrame) -> list[str]:
    """When things go wrong: what nginx's extra hop costs on the happy path, then the
    slow clients, overload and crash scenarios' own sentences."""
    said = proxy_cost(summary)
    for scenario in faulting():
        said += scenario.findings(summary)
    return said


def proxy_cost(summary: pd.DataFrame) -> list[str]:
    """Per config measured steady both bare and with `+nginx` at the same C and D: the rate
    and the median latency each way, and whether the rates' intervals part."""
    steady = STEADY.rows(summary)
    steady = steady[steady["valid"].astype(bool)]
    lines = []
    for config in ordered_configs(steady["config"]):
        if get_config(config).variant or f"{config}+nginx" not in set(steady["config"]):
            continue
        bare = steady[steady["config"] == config]
        behind = steady[steady["config"] == f"{config}+nginx"]
        for (users, delay), rows in bare.groupby(["users", "delay_s"]):
            twin = behind[(behind["users"] == users) & (behind["delay_s"] == delay)]
            if twin.empty:
                continue
            a, b = stats.median_interval(rows["rps"]), stats.median_interval(twin["rps"])
            verdict = ("nginx's hop costs rate" if a.clears(b) else "nginx's hop adds rate"
                       if b.clears(a) else "a tie: the intervals overlap")  # fmt: skip
            if not (a.known and b.known):
                verdict = "too few repeats to compare"
            lines.append(
                f"nginx in front of {config} (C = {users}, D = {1000 * delay:g} ms): "
                f"{a.text()} req/s bare, {b.text()} behind nginx ({verdict}); median latency "
                f"{rows['p50_ms'].median():.1f} ms bare, {twin['p50_ms'].median():.1f} ms behind."
            )
    return lines

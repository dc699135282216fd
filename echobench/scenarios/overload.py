"""Overload: open loop past capacity, with and without the server's own limit.

Arrivals come at a multiple of the bare config's capacity (`load_factors` in a
profile), each on a fresh connection, as independent users do, from a pool of senders
large enough that the client never becomes the queue. The model: goodput (answers
within the bound per second) is at most the capacity; without a limit every arrival is
admitted and waits, so the admitted latency grows through the window at (λ - μ) / μ
seconds per second; with a limit that caps what is held (`+limitN`: uvicorn's
--limit-concurrency, nginx's limit_conn, ...) the excess is refused at once and the
admitted stay near D + c.
"""

from __future__ import annotations

import math

import pandas as pd

from echobench import model
from echobench.configs import FAMILIES, get_config
from echobench.scenarios.base import Point
from echobench.scenarios.open import Open
from echobench.style import ordered_configs

MAX_SENDERS = 4000  # open files in the one locust process, well under its 20,000
# A latency that moves less than this through the window is a steady queue, not a growing one.
STEADY_GROWTH_MS_PER_S = 100.0


class Overload(Open):
    name = "overload"
    title = "Overload: open loop past capacity, with and without load shedding"
    order = 5
    headline, higher_is_better = "goodput_rps", True
    fresh_connections = True
    judged_by_model = True  # its answer rate against the capacity; a gap is said
    report_rates = ("goodput_rps",)
    report_latencies = ("refused_share", "refused_p50_ms", "latency_growth_ms_per_s")

    def senders(self, rate: float, delay_s: float, window_s: float, warmup_s: float) -> int:
        """Enough senders that none waits for a free one while the server holds every
        arrival of the window (an unlimited server past capacity admits them all)."""
        return min(MAX_SENDERS, math.ceil(rate * (max(warmup_s, delay_s) + window_s)) + 10)

    def load_label(self, p: Point) -> str:
        return f"l{p.rate:.4g}"

    def drain_s(self, p: Point) -> float:
        """No wait for the backlog to clear: what is still queued at the end counts at its
        age then (a lower bound), which is what an overload point is about."""
        return p.delay_s + p.work_s + 1.0

    def ideal_growth_ms_per_s(self, p: Point) -> float:
        """How fast the admitted latency grows: (λ - μ) / μ s per s when every arrival is
        admitted; 0 when a limit refuses the excess at once (nginx's, uvicorn's)."""
        capacity = p.capacity_rps
        if refuses(p.config.id) or not math.isfinite(capacity) or p.rate <= capacity:
            return 0.0
        return 1000.0 * (p.rate - capacity) / capacity

    def summarize(self, p: Point, requests: pd.DataFrame, marks: dict) -> tuple:
        row, timed, start, stop = super().summarize(p, requests, marks)
        row["ideal_growth_ms_per_s"] = self.ideal_growth_ms_per_s(p)
        return row, timed, start, stop

    def gap_causes(self, row: dict) -> list[str | None]:
        """Besides the closed loop's causes: a limit, by Little's law at the admitted's
        measured latency, and what the refusals were."""
        return [admitted_by_limit(row), *super().gap_causes(row)]

    def findings(self, summary: pd.DataFrame) -> list[str]:
        """Per config at its highest offered load: goodput against capacity, what it
        refused and how fast, and whether the admitted waited longer through the window."""
        data = self.rows(summary)
        data = data[data["valid"].astype(bool)]
        lines = []
        for config in ordered_configs(data["config"]):
            rows = data[data["config"] == config]
            top = rows[rows["offered_rps"] == rows["offered_rps"].max()]
            first = top.iloc[0]
            capacity = bare_capacity_rps(first)
            goodput = top["goodput_rps"].median()
            refused = top["refused_share"].median()
            growth = top["latency_growth_ms_per_s"].median()
            text = (
                f"{config} at {first['offered_rps']:.0f} req/s offered (capacity "
                f"{capacity:.0f}): goodput {goodput:.0f} req/s, refused {share(refused)}"
            )
            fast = top["refused_p50_ms"].median()
            if refused > 0 and pd.notna(fast):
                text += f" in {fast:.1f} ms (median)"
            modelled = top.get("ideal_growth_ms_per_s")  # runs before it lack the column
            model_growth = modelled.median() if modelled is not None else float("nan")
            if held_steady(growth, model_growth):
                text += f"; the admitted's latency held steady ({round(growth) or 0:+d} ms per s)"
            elif pd.notna(growth):
                text += (f"; the admitted waited {growth / 1000:.2f} s longer every second of "
                         "the window" + (f" (the model: {model_growth / 1000:.2f})"
                                         if pd.notna(model_growth) else ""))  # fmt: skip
            lines.append(text + f" ({len(top)} repeat{'s' if len(top) > 1 else ''}).")
        return lines

    def survives(self, rows: pd.DataFrame) -> str:
        top = rows[rows["offered_rps"] == rows["offered_rps"].max()]
        refused, growth = top["refused_share"].median(), top["latency_growth_ms_per_s"].median()
        modelled = top.get("ideal_growth_ms_per_s")
        model_growth = modelled.median() if modelled is not None else float("nan")
        capacity = bare_capacity_rps(top.iloc[0])
        head = f"at {top['offered_rps'].iloc[0] / capacity:.1f}x its capacity it"
        kept = f"{top['goodput_rps'].median():.0f} of its {capacity:.0f} req/s in time"
        if pd.isna(growth):
            return f"{head} refused {share(refused)} and kept {kept} (too few answers to fit)"
        if held_steady(growth, model_growth):
            return f"{head} shed {share(refused)} at once and kept {kept}"
        growing = f"the wait growing {growth / 1000:.1f} s a second"
        if refused > 0.05:
            return f"{head} refused {share(refused)} and still queued the rest: {kept}, {growing}"
        return f"{head} queued every arrival: {kept}, {growing}"


OVERLOAD = Overload()


def bare_capacity_rps(row) -> float:
    """The capacity of a row's bare config (without its `+nginx`, `+limitN`) at its D and
    c: what its offered load is a multiple of."""
    bare = get_config(get_config(row["config"]).base_id)
    return model.capacity_rps(bare.capacity, float(row["delay_s"]), float(row["work_ms"]) / 1000,
                              bare.parallel, int(row["cores"]))  # fmt: skip


def refuses(config_id: str) -> bool:
    """Whether a config refuses what is past its limit at once (a 503): nginx's limit_conn,
    or a server's own limit that does (`Limit.refuses`)."""
    config = get_config(config_id)
    if config.limit is None:
        return False
    return bool(config.proxy) or FAMILIES[config.family].limit.refuses


def admitted_by_limit(row: dict) -> str | None:
    """A limit of L held at once admits at most L / (its admitted's mean time in the
    server) per second (Little's law); said with the measured median latency."""
    config = get_config(row["config"])
    p50 = row.get("p50_ms")
    if config.limit is None or not p50:
        return None
    limit = config.limit * (1 if config.proxy else config.workers)
    refused = row.get("refused_share")
    return (
        f"a limit of {limit} at once admits about {limit} / {p50 / 1000:.3f} s = "
        f"{limit / (p50 / 1000):.0f} req/s at the admitted's median latency (Little's law)"
        + (f"; {share(refused)} of arrivals were refused" if refused is not None else "")
    )


def held_steady(growth: float, model_growth: float) -> bool:
    """The admitted latency did not grow through the window: less than
    STEADY_GROWTH_MS_PER_S a second, and less than half of any growth the model expects."""
    if pd.isna(growth) or abs(growth) >= STEADY_GROWTH_MS_PER_S:
        return False
    return pd.isna(model_growth) or model_growth == 0 or abs(growth) < 0.5 * model_growth


def share(value: float) -> str:
    """A share as a percentage, never "0%" for one that is not 0."""
    if pd.isna(value):
        return "not measured"
    return "under 1%" if 0 < value < 0.005 else f"{value:.0%}"

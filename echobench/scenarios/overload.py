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


class Overload(Open):
    name = "overload"
    title = "Overload: open loop past capacity, with and without load shedding"
    order = 5
    headline, higher_is_better = "goodput_rps", True
    fresh_connections = True
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
                f"{config} at {first['offered_rps']:g} req/s offered (capacity "
                f"{capacity:.0f}): goodput {goodput:.0f} req/s, refused {refused:.0%}"
            )
            fast = top["refused_p50_ms"].median()
            if refused > 0 and pd.notna(fast):
                text += f" in {fast:.0f} ms (median)"
            text += (f"; the admitted waited {growth:+.0f} ms longer per second of the window"
                     if pd.notna(growth) else "")  # fmt: skip
            lines.append(text + f" ({len(top)} repeat{'s' if len(top) > 1 else ''}).")
        return lines

    def survives(self, rows: pd.DataFrame) -> str:
        top = rows[rows["offered_rps"] == rows["offered_rps"].max()]
        refused, growth = top["refused_share"].median(), top["latency_growth_ms_per_s"].median()
        factor = top["offered_rps"].iloc[0] / bare_capacity_rps(top.iloc[0])
        way = "sheds" if refused > 0.05 and abs(growth) < 100 else "queues"
        return f"{factor:.1f}x load: {way}, goodput {top['goodput_rps'].median():.0f} req/s"


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


def share(value: float) -> str:
    """A share as a percentage, never "0%" for one that is not 0."""
    if pd.isna(value):
        return "not measured"
    return "under 1%" if 0 < value < 0.005 else f"{value:.0%}"

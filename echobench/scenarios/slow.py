"""Slow clients: S slow connections of one kind beside an open-loop stream of fast ones.

The fast stream is ordinary echoes arriving at a fixed rate on fresh connections, as
independent users arrive; what it measures is the service everyone else gets while S
clients are slow on purpose (echobench.slowclients: headers a byte at a time, a body a
byte at a time, an answer read a little at a time, or a kept-alive connection left
idle). The model: a config that gives each connection a slot of its K (a sync worker,
a thread) denies the fast stream once S >= K slow clients of a kind that holds one; an
event loop, or nginx buffering in front, holds each at the cost of a socket. Which
kinds hold a slot on which server is what the points measure, never assumed here.
"""

from __future__ import annotations

import math

import pandas as pd

from echobench import model
from echobench.scenarios.base import Point
from echobench.scenarios.open import Open
from echobench.style import k_label, ordered_configs

# The fast stream's share answered in time that counts as service kept, and denied.
KEPT_SHARE, DENIED_SHARE = 0.99, 0.5


class Slow(Open):
    any_app = False  # the slow clients use the echo contract's POST and size=
    name = "slow"
    title = "Slow clients: the fast stream's service beside S slow connections"
    order = 6
    headline, higher_is_better = "answered_in_bound_share", True
    fresh_connections = True  # each fast request a new user's connection
    companion = "slow_clients"
    judged_by_model = True  # its rate against the model without held slots; a gap is said
    report_rates = ("slow_clients",)
    report_latencies = ("answered_in_bound_share", "slow_open", "server_connections")

    def load_label(self, p: Point) -> str:
        return f"l{p.rate:g}-{p.slow_kind or 'none'}{p.slow_clients}"

    def describe_load(self, p: Point) -> str:
        return f"rate={p.rate:g}/s S={p.slow_clients} {p.slow_kind or ''}".rstrip()

    def slots_left_if_held(self, p: Point) -> float:
        """K - S: the slots the fast stream has if every slow client holds one."""
        return max(0.0, p.slots - p.slow_clients) if math.isfinite(p.slots) else math.inf

    def held_ideal_rps(self, p: Point) -> float:
        """The fast stream's model rate if every slow client held a slot: at most λ. Behind
        nginx none does (it passes a request on only once it has it whole). Its `ideal_rps`
        is the open loop's, as if none held anything: a held slot shows as a gap."""
        if p.config.proxy:
            return self.ideal_rps(p)
        left = self.slots_left_if_held(p)
        return min(p.rate, model.capacity_rps(left, p.delay_s, **p.cpu)) if left else 0.0

    def summarize(self, p: Point, requests: pd.DataFrame, marks: dict) -> tuple:
        row, timed, start, stop = super().summarize(p, requests, marks)
        said = marks.get("companion") or {}
        row.update(
            slow_kind=p.slow_kind or None,
            slow_clients=p.slow_clients,
            slow_open=said.get("most_open"),
            slow_refused=said.get("refused"),
            slow_closed=said.get("closed_by_server"),
            slow_closed_after_s=said.get("closed_after_s_median"),
            server_connections=said.get("server_connections_max"),
            held_ideal_rps=self.held_ideal_rps(p),
        )
        return row, timed, start, stop

    def gap_causes(self, row: dict) -> list[str | None]:
        """Besides the closed loop's causes: slow clients that held the slots, when the fast
        stream got no more than the model with held slots allows."""
        return [held_slots(row), *super().gap_causes(row)]

    def findings(self, summary: pd.DataFrame) -> list[str]:
        """Per config and kind: the fast stream's share in time at the most slow clients,
        against none, and whether the kind held a slot there."""
        data = self.rows(summary)
        data = data[data["valid"].astype(bool)]
        lines = []
        for config in ordered_configs(data["config"]):
            rows = data[data["config"] == config]
            quiet = rows[rows["slow_clients"] == 0]["answered_in_bound_share"].median()
            for kind in sorted(rows["slow_kind"].dropna().unique()):
                of = rows[rows["slow_kind"] == kind]
                top = of[of["slow_clients"] == of["slow_clients"].max()]
                share = round(top["answered_in_bound_share"].median(), 2)
                s = int(top["slow_clients"].iloc[0])
                text = (f"{config}, {s} {kind} slow clients (K = {k_label(top['capacity'].iloc[0])}"
                        f"): the fast stream's share answered in time {share:.2f} "
                        f"({verdict(share)})")  # fmt: skip
                if pd.notna(quiet):
                    text += f", {quiet:.2f} with none"
                closed = top["slow_closed"].median()
                if pd.notna(closed) and closed > 0:
                    after = top["slow_closed_after_s"].median()
                    text += f"; the server closed {closed:.0f} of them, after {after:.2g} s"
                lines.append(text + f" ({len(top)} repeat{'s' if len(top) > 1 else ''}).")
        return lines

    def survives(self, rows: pd.DataFrame) -> str:
        """The decision column's words for one config: the kinds of slow clients that left
        others their service, and those that denied it (at the most S of each)."""
        by: dict[str, list[tuple[str, int]]] = {}
        for kind in KINDS_IN_ORDER:
            of = rows[rows["slow_kind"] == kind]
            if of.empty:
                continue
            top = of[of["slow_clients"] == of["slow_clients"].max()]
            share = round(top["answered_in_bound_share"].median(), 2)
            by.setdefault(verdict(share), []).append((kind, int(top["slow_clients"].iloc[0])))
        counts = {n for found in by.values() for _, n in found}
        one = len(counts) == 1  # one S for every kind: said once, in front
        words = {"kept": "kept its service against", "denied": "denied by",
                 "degraded": "degraded by"}  # fmt: skip
        said = [f"{words[v]} " + _listed([k if one else f"{k} ({n})" for k, n in found])
                for v, found in sorted(by.items()) if found]  # fmt: skip
        if not said:
            return ""
        return (f"{counts.pop()} slow clients: " if one else "slow clients: ") + "; ".join(said)


SLOW = Slow()


def held_slots(row: dict) -> str | None:
    """The slow clients held the slots: the fast stream's rate is within the model that
    gives each slow client one (`held_ideal_rps`), which is below the model without."""
    held, rps, ideal = row.get("held_ideal_rps"), row.get("rps"), row.get("ideal_rps")
    if held is None or rps is None or ideal is None or held >= ideal:
        return None
    if rps > held + 0.1 * ideal:
        return None
    return (f"{row.get('slow_clients'):.0f} {row.get('slow_kind')} slow clients held the server's "
            f"slots: with each holding one of K = {k_label(row.get('capacity'))}, the model "
            f"allows {held:.0f} req/s")  # fmt: skip


KINDS_IN_ORDER = ("headers", "body", "read", "idle")


def _listed(kinds: list[str]) -> str:
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"


def verdict(share: float) -> str:
    """The fast stream's service at a share answered in time (rounded as it is shown)."""
    if share < DENIED_SHARE:
        return "denied"
    return "kept" if share >= KEPT_SHARE else "degraded"

"""A crashed worker: one SIGKILL to a serving process in the middle of a steady point.

A third into the window echobench kills the worker that answered a probe (its PID from
the worker header, checked to be in the server's process tree, never a master:
echobench.faults.WorkerKill). Figures: the requests lost (in flight at the kill, or
failing after it), how long until the server answered at its earlier rate again, and
whether a new worker replaced the dead one. The model's blast radius: a sync worker
loses its one request; an event loop every request it held; one uvicorn process is the
whole server and does not come back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from echobench.scenarios.base import Point
from echobench.scenarios.steady import Steady
from echobench.style import ordered_configs

KILL_AT = 1 / 3  # of the window
RATE_BIN_S = 0.5  # the answer rate is counted in bins at least this long, and 2 (D + c)
RECOVERED_SHARE = 0.9  # of the rate before the kill


class Crash(Steady):
    any_app = False  # the kill needs the echo app's worker header
    name = "crash"
    title = "Crashed worker: one SIGKILL mid-window, requests lost and recovery"
    order = 7
    memory_under_load = False
    judged_by_model = False  # by what it lost and how fast it came back
    headline, higher_is_better = "lost_requests", False
    companion = "worker_kill"
    user_classes = ("CrashUser",)
    user_modules = ("loadtests.users.crash",)
    report_latencies = ("lost_requests", "recovery_s")

    def kill_at_s(self, p: Point) -> float:
        """Seconds after the release: a third into the window."""
        return self.effective_warmup_s(p) + KILL_AT * p.window_s

    def probe_at_s(self, p: Point) -> float:
        """When the kill's probes go (halfway through the warm-up, with every user
        connected), so their answers, queued behind the load, are in before the kill."""
        return self.effective_warmup_s(p) / 2

    def summarize(self, p: Point, requests: pd.DataFrame, marks: dict) -> tuple:
        row, timed, start, stop = super().summarize(p, requests, marks)
        said = marks.get("companion") or {}
        row.update(killed_whole_server=said.get("was_whole_server"))
        killed = said.get("killed_at")
        if killed is None:  # the runner said why (the companion's error) in the note
            return row, timed, start, stop
        echo = requests[requests["kind"] == "echo"]
        in_flight = (echo["sent_at"] < killed) & ~(echo["done_at"] < killed)
        bad = echo["outcome"].isin(["failed", "timeout", "unfinished"])
        after = (echo["sent_at"] >= killed) & (echo["sent_at"] < stop)
        ok = echo[echo["outcome"] == "ok"]["done_at"].to_numpy(dtype=float)
        row.update(
            lost_requests=int((in_flight & bad).sum()),
            failed_after_kill=int((after & bad).sum()),
            recovery_s=recovery_s(ok, start, killed, stop, rate_bin_s(p)),
            respawn_s=(said["respawned_at"] - killed) if said.get("respawned_at") else None,
        )
        return row, timed, start, stop

    def findings(self, summary: pd.DataFrame) -> list[str]:
        data = self.rows(summary)
        data = data[data["valid"].astype(bool)]
        lines = []
        for config in ordered_configs(data["config"]):
            rows = data[data["config"] == config]
            lost, later = rows["lost_requests"].median(), rows["failed_after_kill"].median()
            text = (
                f"{config} (C = {rows['users'].iloc[0]}): a killed worker lost "
                f"{lost:.0f} request{'' if lost == 1 else 's'} in flight, {later:.0f} more "
                "failed after it"
            )
            back = rows["recovery_s"].median()
            respawn = rows["respawn_s"].median() if "respawn_s" in rows else float("nan")
            if rows["killed_whole_server"].fillna(False).astype(bool).all():
                text += "; it was the whole server, and nothing came back"
            elif pd.notna(back):
                text += ("; the answer rate held" if back == 0 else
                         f"; the answer rate was back within {back:.1f} s")  # fmt: skip
            else:
                text += "; the rate did not come back within the window"
            if pd.notna(respawn):
                text += f", a new worker serving after {respawn:.2f} s"
            lines.append(text + f" ({len(rows)} repeat{'s' if len(rows) > 1 else ''}).")
        return lines

    def survives(self, rows: pd.DataFrame) -> str:
        lost, back = rows["lost_requests"].median(), rows["recovery_s"].median()
        head = f"a killed worker took {lost:.0f} request{'' if lost == 1 else 's'} with it"
        if rows["killed_whole_server"].fillna(False).astype(bool).all():
            return head + " and the server did not come back"
        if pd.isna(back):
            return head + "; the rate was not back within the window"
        held = "the answer rate held" if back == 0 else f"the rate was back in {back:.1f} s"
        return f"{head}; {held}"


CRASH = Crash()


def rate_bin_s(p: Point) -> float:
    """The bin the answer rate is counted in: long enough that every user answers in it."""
    return max(RATE_BIN_S, 2 * (p.delay_s + p.work_s))


def recovery_s(done_at: np.ndarray, start: float, killed: float, stop: float,
               bin_s: float = RATE_BIN_S) -> float | None:  # fmt: skip
    """Seconds from the kill until a bin of answers reached RECOVERED_SHARE of the median
    bin before it; None if none did before the window's end, or none before it answered
    anything."""
    before = np.arange(start, killed - bin_s + 1e-9, bin_s)
    if not len(before):
        return None
    counts = [np.count_nonzero((done_at >= t) & (done_at < t + bin_s)) for t in before]
    target = RECOVERED_SHARE * float(np.median(counts))
    if target <= 0:
        return None
    t = killed
    while t + bin_s <= stop:
        if np.count_nonzero((done_at >= t) & (done_at < t + bin_s)) >= target:
            return t - killed
        t += bin_s / 5
    return None

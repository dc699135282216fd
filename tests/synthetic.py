"""Synthetic raw records for the unit tests: a point, its records and its samples.

Written the way the locustfile and the sampler write them (records.REQUEST_FIELDS,
sampler.Sample), so the figures can be worked out by hand from a few rows.
"""

from __future__ import annotations

import csv

import pandas as pd

from echobench.configs import get_config
from echobench.point import Point
from echobench.records import REQUEST_FIELDS


def point(scenario="steady", config="flask-sync-2", users=4, delay_s=0.5, **extra) -> Point:
    """A point as a profile would expand it (warm-up 0.5 s, window 2 s unless given)."""
    fields = {"warmup_s": 0.5, "window_s": 2.0, **extra}
    return Point(1, scenario, get_config(config), users, delay_s, 1, **fields)


T0 = 1000.0  # the release, in wall-clock seconds


def write_raw(raw, rows, samples=None, name="requests.csv"):
    """A point's raw folder: request records (dicts) and optional sampler rows."""
    raw.mkdir(parents=True, exist_ok=True)
    with open(raw / name, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=REQUEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    if samples:
        pd.DataFrame(samples).to_csv(raw / "samples.csv", index=False)
    return raw


def mark(kind, t, cpu_s=0.0):
    return {"event": "mark", "kind": kind, "sent_at": t, "cpu_s": cpu_s}


def request(req_id, sent, done=None, outcome="ok", latency_ms=None, kind="echo", intended=""):
    rows = [{"event": "send", "req_id": req_id, "kind": kind, "sent_at": sent,
             "intended_at": intended}]  # fmt: skip
    if done is not None:
        latency = latency_ms if latency_ms is not None else 1000.0 * (done - sent)
        rows.append({"event": "done", "req_id": req_id, "kind": kind, "sent_at": sent,
                     "intended_at": intended, "done_at": done, "latency_ms": latency,
                     "status": 200 if outcome == "ok" else 0, "outcome": outcome})  # fmt: skip
    return rows


def sample(t, phase, pss, cpu, loadgen_cpu=None, rss=None):
    return {"t": t, "phase": phase, "server_alive": True, "server_procs": 3,
            "server_pss_mb": pss, "server_rss_mb": rss or 5 * pss, "server_cpu_s": cpu,
            "loadgen_cpu_s": loadgen_cpu}  # fmt: skip

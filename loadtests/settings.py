"""The point as locust needs it, read once from the one `--eb-point` argument (JSON).

echobench.loadgen builds it from the point and its scenario; it travels to distributed
workers with locust's own options, so nothing on the master's disk has to be reachable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class LocustPoint:
    records: str  # where a local run writes its rows (a master: the folder of its workers')
    # how the load is released (the scenario's `release`): "at_once", one request per
    # user, all together; "window", closed loops until the window ends; "schedule",
    # arrivals at a rate taken by a pool of senders
    release: str
    fresh_connections: bool  # a new connection per request, as a burst's (calibration)
    delay_s: float
    work_ms: float  # CPU each echo asks the server to burn (0: the parameter is left out)
    warmup_s: float
    window_s: float
    drain_s: float
    deadline_s: float
    timeout_s: float
    fast_interval_s: float
    spawn_timeout_s: float
    rate: float | None
    poisson: bool
    seed: int
    primed_share: float = 1.0  # a burst: the share of users primed before the release
    # `run --app`: {path, method, headers, body_b64, body_sha256} of the user's request,
    # sent instead of the echo; an answer is ok when 2xx (and its body hashes as said)
    app: dict | None = None
    # where the release's wall-clock time is written, for what runs beside the load
    release_file: str = ""


def parse(text: str) -> LocustPoint:
    return LocustPoint(**json.loads(text))

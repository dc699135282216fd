"""One measured point: a scenario, a config, a load level and a repeat.

Its timings (warm-up, window, drain, deadline, timeouts) and the rate the model asks
of the load generator come from its scenario (`scenarios.py`); a point only holds its
parameters and names itself.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from functools import cached_property

from echobench import model
from echobench.configs import ServerConfig, get_config
from echobench.scenarios import SCENARIOS, Scenario
from echobench.scenarios.base import POINT_OVERHEAD_S, Timings
from echobench.userapp import AppRequest

__all__ = ["POINT_OVERHEAD_S", "Point", "Timings"]


@dataclass(frozen=True)
class Point:
    """One measured point: a fresh server, one locust run, one summary row."""

    index: int
    scenario: str
    config: ServerConfig
    users: int
    delay_s: float
    repeat: int
    warmup_s: float = 0.0
    window_s: float = 0.0
    fast_interval_s: float = 0.2
    rate: float | None = None
    poisson: bool = False
    work_ms: float = 0.0  # CPU each echo burns after its wait (the contract's work=MS)
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)  # M, of the machine
    io: str = "sleep"  # how the wait is spent: sleep, or db (one query on PostgreSQL)
    pool: int = 0  # io = db: database connections per server process
    db_connections: int = 0  # io = db: the connections the database accepts
    # `run --app`: the user's app answers instead of the echo app (D and c: the probe's)
    app: AppRequest | None = None
    # the slow scenario: S slow clients of one kind beside the fast stream (slowclients.py)
    slow_kind: str = ""
    slow_clients: int = 0

    @property
    def slots(self) -> float:
        """K of the model at this point: the server's, or behind a database the least of
        its slots, its pools and the database's connections."""
        if self.io != "db":
            return self.config.capacity
        return model.db_slots(self.config.capacity, self.config.workers, self.pool,
                              self.db_connections)  # fmt: skip

    @property
    def work_s(self) -> float:
        return self.work_ms / 1000.0

    @property
    def cpu(self) -> dict[str, float]:
        """The model's CPU terms of this point: c, P and M (model.py's keyword arguments)."""
        return {"work_s": self.work_s, "parallel": self.config.parallel, "cores": self.cores}

    @property
    def scenario_def(self) -> Scenario:
        """The scenario object that knows this point's timings, users and figures."""
        return SCENARIOS[self.scenario]

    @property
    def point_id(self) -> str:
        load = self.scenario_def.load_label(self) + (f"-w{self.work_ms:g}" if self.work_ms else "")
        load += f"-db{self.pool}" if self.io == "db" else ""
        return f"{self.index:03d}-{self.scenario}-{self.config.id}-{load}-r{self.repeat}"

    @property
    def capacity_rps(self) -> float:
        """K / (D + c), at most min(P, M) / c: the most answers per second the model allows."""
        return model.capacity_rps(self.slots, self.delay_s, **self.cpu)

    @cached_property
    def timings(self) -> Timings:
        """Its derived timings, computed once by its scenario (the point is frozen)."""
        return self.scenario_def.timings(self)

    @property
    def expected_s(self) -> float:
        return self.timings.expected_s

    @classmethod
    def from_description(cls, data: dict) -> Point:
        """The point a run.json matrix entry describes (its derived timings are recomputed)."""
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        app = fields.get("app")
        if app:
            fields["app"] = AppRequest(**{**app, "headers": tuple(map(tuple, app["headers"]))})
        return cls(**{**fields, "config": get_config(data["config"])})

    def describe(self) -> dict:
        """The point as data, with the timings derived from it, for run.json."""
        data = asdict(self)
        if self.app is not None:  # header values and a body may be secrets: not kept
            data["app"] |= {"headers": [[name, "<not kept>"] for name, _ in self.app.headers],
                            "body_b64": f"<{len(self.app.body)} bytes, not kept>"
                            if self.app.body_b64 else ""}  # fmt: skip
        data["config"] = self.config.id
        data["point_id"] = self.point_id
        described = asdict(self.timings)
        data.update((name, described[name]) for name in Timings.DESCRIBED)
        return data

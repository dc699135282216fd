"""Profiles: TOML data files that expand into the matrix of measured points.

A profile is groups of (scenario, configs, users, delay, CPU work); each group expands
to config x users x work x repeat points. `users` may hold "K": as many users as the config
has slots (a full but unqueued server, used for the memory sweep).
"""

from __future__ import annotations

import difflib
import math
import os
import random
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from echobench import model, slowclients
from echobench.configs import MAX_POOL, ConfigError, ServerConfig, get_config
from echobench.database import DEFAULT_MAX_CONNECTIONS
from echobench.point import Point
from echobench.scenarios import SCENARIOS, names
from servers.contract import MAX_DELAY_S, MAX_WORK_MS
from servers.database import IO_MODES

PROFILE_PACKAGE = "loadtests.profiles"
MAX_USERS = 20_000
GROUP_KEYS = {
    "scenario",
    "configs",
    "users",
    "delay_s",
    "warmup_s",
    "window_s",
    "fast_interval_s",
    "rates",
    "poisson",
    "work_ms",
    "repeat",
    "io",
    "pool",
    "note",
    "load_factors",
    "slow_kinds",
    "slow_clients",
}


class ProfileError(ValueError):
    """A profile that is missing, not TOML, or not a valid matrix."""


@dataclass
class Profile:
    name: str
    description: str
    repeat: int
    points: list[Point] = field(default_factory=list)
    source: str = ""
    seed: int | None = None
    # measure the client's own cost before the first point (client_cost.py); a profile
    # made for a test may say `client_cost = false` to save its five seconds
    client_cost: bool = True
    # the minutes its expected time must stay within (the tests hold every built-in
    # profile to its own); None: no budget said
    budget_min: float | None = None
    # what `echobench advise --verify` predicted for these points (its [advice] table):
    # kept in run.json so the report sets the advice beside the measurement
    advice: dict | None = None

    @property
    def expected_s(self) -> float:
        return sum(p.expected_s for p in self.points)


def available() -> list[str]:
    folder = resources.files(PROFILE_PACKAGE)
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def _read(name_or_path: str) -> tuple[dict, str]:
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") or path.parent != Path("."):
        try:
            return tomllib.loads(path.read_text()), str(path)
        except FileNotFoundError:
            builtin = path.stem if path.parent == Path(".") and path.stem in available() else None
            hint = f"; the built-in profile is `--profile {builtin}`" if builtin else ""
            raise ProfileError(f"profile file {name_or_path} does not exist{hint}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"profile file {name_or_path} cannot be read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"profile file {name_or_path} is not valid TOML: {exc}") from None
    resource = resources.files(PROFILE_PACKAGE) / f"{name_or_path}.toml"
    if not resource.is_file():
        guess = difflib.get_close_matches(name_or_path, available(), n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]}? " if guess else ""
        raise ProfileError(
            f"unknown profile {name_or_path!r}; {hint}built in: {', '.join(available())} "
            "(or give a path to a .toml file)"
        )
    return tomllib.loads(resource.read_text()), f"{PROFILE_PACKAGE}/{name_or_path}.toml"


def _number(group: dict, key: str, default: float, low: float, high: float) -> float:
    value = group.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ProfileError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _users(raw, config: ServerConfig) -> int:
    if raw == "K":
        if math.isinf(config.capacity):
            raise ProfileError(f'users = "K" needs a bounded config, not {config.id}')
        return int(config.capacity)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_USERS:
        raise ProfileError(f'users must be whole numbers from 1 to {MAX_USERS} or "K", got {raw!r}')
    return raw


def load_profile(
    name_or_path: str,
    configs: list[str] | None = None,
    scenarios: list[str] | None = None,
    repeat: int | None = None,
    seed: int = 0,
) -> Profile:
    """Read and expand a profile; `configs` replaces every group's configs.

    With more than one repeat the points run in an order shuffled by `seed`.
    """
    data, source = _read(name_or_path)
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        raise ProfileError(f"{source}: needs at least one [[groups]] table")
    repeats = _repeats(repeat if repeat is not None else data.get("repeat", 1))
    unknown = set(scenarios or []) - set(names())
    if unknown:
        raise ProfileError(f"unknown scenario {sorted(unknown)[0]!r}; known: {', '.join(names())}")
    try:
        chosen = [get_config(c) for c in configs] if configs else None
    except ConfigError as exc:
        raise ProfileError(str(exc)) from None

    cost = data.get("client_cost", True)
    if not isinstance(cost, bool):
        raise ProfileError(f"{source}: client_cost must be true or false, got {cost!r}")
    budget = data.get("budget_min")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | float)
                               or budget <= 0):  # fmt: skip
        raise ProfileError(f"{source}: budget_min must be a positive number of minutes, "
                           f"got {budget!r}")  # fmt: skip
    advice = data.get("advice")
    if advice is not None and not (isinstance(advice, dict)
                                   and isinstance(advice.get("rps", {}), dict)):  # fmt: skip
        raise ProfileError(f"{source}: [advice] must be a table with an rps table in it")
    profile = Profile(Path(source).stem, str(data.get("description", "")), repeats,
                      source=source, client_cost=cost, budget_min=budget,
                      advice=advice)  # fmt: skip
    for number, group in enumerate(groups, 1):
        if not isinstance(group, dict):
            raise ProfileError(f"{source}: group {number} is not a table")
        extra = set(group) - GROUP_KEYS
        if extra:
            raise ProfileError(f"{source}: group {number} has unknown key {sorted(extra)[0]!r}")
        scenario = group.get("scenario")
        if scenario not in SCENARIOS:
            raise ProfileError(f"{source}: group {number} scenario must be one of {names()}")
        if scenarios and scenario not in scenarios:
            continue
        try:
            group_configs = chosen or [get_config(c) for c in group.get("configs", [])]
        except (ConfigError, TypeError) as exc:
            raise ProfileError(f"{source}: group {number}: {exc}") from None
        if not group_configs:
            raise ProfileError(f"{source}: group {number} needs a non-empty configs list")
        try:
            # --repeat overrides every group; else a group may repeat more than the profile
            group_repeats = (
                repeats if repeat is not None else _repeats(group.get("repeat", repeats))
            )
            profile.points += _expand(group, group_configs, group_repeats)
        except ProfileError as exc:
            raise ProfileError(f"{source}: group {number}: {exc}") from None
    if not profile.points:
        raise ProfileError(f"{source}: no point left after filtering by scenario")
    # Calibration first: later points are judged against the ceiling it measures. Its
    # repeats are spread evenly through the rest, so the calibration follows the machine
    # through the run instead of being one moment at its start.
    first = [p for p in profile.points if p.scenario_def.calibrates and p.repeat == 1]
    again = [p for p in profile.points if p.scenario_def.calibrates and p.repeat > 1]
    rest = [p for p in profile.points if not p.scenario_def.calibrates]
    if any(p.repeat > 1 for p in rest):  # interleave repeats: drift cannot pose as a difference
        random.Random(seed).shuffle(rest)
        profile.seed = seed
    profile.points = first + _spread(again, rest)
    profile.points = [replace(p, index=i) for i, p in enumerate(profile.points, 1)]
    return profile


def _spread(extra: list[Point], points: list[Point]) -> list[Point]:
    """`points` with `extra` inserted at even intervals, in their order."""
    if not extra:
        return points
    out, step = [], len(points) / (len(extra) + 1)
    marks = [round(step * (i + 1)) for i in range(len(extra))]
    queue = list(extra)
    for i, point in enumerate(points):
        while queue and marks and marks[0] <= i:
            marks.pop(0)
            out.append(queue.pop(0))
        out.append(point)
    return out + queue


def _repeats(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ProfileError(f"repeat must be a whole number from 1 to 100, got {value!r}")
    return value


def _slow(group: dict, scenario_def) -> list[dict]:
    """The slow scenario's S slow clients of each kind (`slow_kinds`, `slow_clients`); S = 0
    is one point, with no kind. Other scenarios have none."""
    if scenario_def.companion != "slow_clients":
        if "slow_kinds" in group or "slow_clients" in group:
            raise ProfileError("slow_kinds and slow_clients are for a slow group")
        return [{}]
    kinds, counts = group.get("slow_kinds"), group.get("slow_clients")
    if not isinstance(kinds, list) or not kinds or any(k not in slowclients.KINDS for k in kinds):
        raise ProfileError(f"a slow group needs slow_kinds, a list of {slowclients.KINDS}")
    if (
        not isinstance(counts, list)
        or not counts
        or any(
            isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= slowclients.MAX_CLIENTS
            for n in counts
        )
    ):
        raise ProfileError(f"a slow group needs slow_clients, whole numbers from 0 to "
                           f"{slowclients.MAX_CLIENTS}")  # fmt: skip
    ways = [{"slow_kind": "", "slow_clients": 0}] if 0 in counts else []
    return ways + [{"slow_kind": k, "slow_clients": n} for k in kinds for n in counts if n]


def _rates(group: dict, config: ServerConfig, delay: float, work_ms: float) -> list[float]:
    """An open group's arrival rates: `rates`, or `load_factors` times the bare config's
    capacity at this D and c (so a `+limitN` variant is offered the same load)."""
    if "load_factors" in group:
        factors = group["load_factors"]
        if not isinstance(factors, list) or not factors or "rates" in group:
            raise ProfileError("load_factors is a list of multiples of capacity, without rates")
        bare = get_config(config.base_id)
        capacity = model.capacity_rps(bare.capacity, delay, work_ms / 1000.0, bare.parallel,
                                      os.cpu_count() or 1)  # fmt: skip
        if not math.isfinite(capacity):
            raise ProfileError(f"load_factors need a finite capacity: {config.id} has none "
                               "without CPU work (add work_ms)")  # fmt: skip
        return [_number({"load_factor": f}, "load_factor", 0, 0.01, 100.0) * capacity
                for f in factors]  # fmt: skip
    rates = group.get("rates")
    if not isinstance(rates, list) or not rates or "users" in group:
        raise ProfileError("an open group needs a rates list (arrivals/s) and no users")
    return [_number({"rate": rate}, "rate", 0, 0.01, 100_000.0) for rate in rates]


def _works(group: dict) -> list[float]:
    """CPU ms per echo: one number or a list (default 0, waiting only)."""
    raw = group.get("work_ms", 0)
    values = raw if isinstance(raw, list) and raw else [raw]
    return [_number({"work_ms": v}, "work_ms", 0, 0.0, MAX_WORK_MS) for v in values]


def _ios(group: dict) -> list[dict]:
    """How each point waits: `io` is "sleep" (default), "db", or a list of both; `pool`
    (db only) is connections per process, a number or a list, default per config."""
    raw = group.get("io", "sleep")
    modes = raw if isinstance(raw, list) and raw else [raw]
    if any(m not in IO_MODES for m in modes) or len(set(modes)) != len(modes):
        raise ProfileError(f'io must be "sleep", "db" or a list of them, got {raw!r}')
    pools = group.get("pool")
    if pools is not None and "db" not in modes:
        raise ProfileError('pool sets database connections: it needs io = "db"')
    pools = pools if isinstance(pools, list) and pools else [pools]
    for pool in pools:
        if pool is not None and (
            isinstance(pool, bool) or not isinstance(pool, int) or not 1 <= pool <= MAX_POOL
        ):
            raise ProfileError(f"pool must be whole numbers from 1 to {MAX_POOL}, got {pool!r}")
    ways = [{"io": "sleep"}] if "sleep" in modes else []
    if "db" in modes:
        ways += [{"io": "db", "pool": pool} for pool in pools]
    return ways


def _rate_levels(group, scenario_def, config, delay, work, common) -> list[dict]:
    """An open-loop group's levels for one config: each rate, with its pool of senders."""
    return [{"rate": rate, "poisson": group.get("poisson", False),
             "users": scenario_def.senders(rate, delay, common["window_s"], common["warmup_s"])}
            for rate in _rates(group, config, delay, work)]  # fmt: skip


def _expand(group: dict, configs: list[ServerConfig], repeats: int) -> list[Point]:
    """One group's points: config x load level x CPU work x way of waiting x repeat."""
    scenario = group["scenario"]
    scenario_def = SCENARIOS[scenario]
    if scenario_def.calibrates:  # zero delay: the config's own capacity R0
        if "delay_s" in group:
            raise ProfileError("a calibrate group runs at zero delay: drop delay_s")
        delay = 0.0
    else:
        delay = _number(group, "delay_s", 2.0, 0.01, MAX_DELAY_S)
    common = {
        "scenario": scenario,
        "delay_s": delay,
        "warmup_s": _number(group, "warmup_s", 1.0, 0.0, 600.0),
        "window_s": _number(group, "window_s", 10.0, 0.5, 3600.0),
        "fast_interval_s": _number(group, "fast_interval_s", 0.2, 0.01, 10.0),
    }
    if scenario_def.by_rate:
        if "users" in group:
            raise ProfileError(f"a {scenario} group takes rates or load_factors, not users")
        if not isinstance(group.get("poisson", False), bool):
            raise ProfileError("poisson must be true or false")
        levels = None  # per config and CPU work, below
    else:
        users = group.get("users")
        if not isinstance(users, list) or not users or "rates" in group:
            raise ProfileError(f"a {scenario} group needs a users list and no rates")
        levels = [{"users": raw} for raw in users]
    works = _works(group)
    if scenario_def.calibrates and works != [0.0]:
        raise ProfileError("a calibrate group measures the bare server: drop work_ms")
    ways = _ios(group)
    slow = _slow(group, scenario_def)
    points = []
    for config in configs:
        for work in works:
            for level in levels or _rate_levels(group, scenario_def, config, delay, work, common):
                for way, slowly in ((w, s) for w in ways for s in slow):
                    if way["io"] == "db":
                        way = {**way, "pool": way["pool"] or config.default_pool,
                               "db_connections": DEFAULT_MAX_CONNECTIONS}  # fmt: skip
                    for rep in range(1, repeats + 1):
                        fields = {**common, **level, **way, **slowly, "config": config,
                                  "repeat": rep, "work_ms": work}  # fmt: skip
                        if not scenario_def.by_rate:
                            fields["users"] = _users(level["users"], config)
                        points.append(Point(index=0, **fields))
    longest = slowclients.MAX_HOLD_S - slowclients.HOLD_SLACK_S
    if any(p.slow_clients and p.timings.max_load_s > longest for p in points):
        raise ProfileError(f"slow clients are held at most {longest:g} s: shorten the window")
    return points

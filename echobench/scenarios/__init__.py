"""Every scenario, found by discovery: one module each in this package.

A scenario module defines its class (on `base.Scenario`) and one instance of it; its
locust users live in loadtests/users/ (named by its `user_modules`). Nothing else lists
scenarios: the registry below finds them, in their `order`, and `register` adds one
defined elsewhere (a test's toy scenario, a user's own). Other modules ask a scenario
what it is (`judged_by_model`, `load_symbol`, `release`, ...) or for its rows
(`BURST.rows(summary)`), never compare its name.
"""

from __future__ import annotations

import importlib
import pkgutil

from echobench.scenarios.base import Scenario

SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    """Add a scenario to the registry, which stays in each scenario's `order`."""
    if not scenario.name:
        raise ValueError(f"{type(scenario).__name__} has no name")
    found = {**SCENARIOS, scenario.name: scenario}
    SCENARIOS.clear()
    SCENARIOS.update(sorted(found.items(), key=lambda item: (item[1].order, item[0])))
    return scenario


def names() -> tuple[str, ...]:
    return tuple(SCENARIOS)


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Scenario) and type(value).__module__ == module.__name__:
                register(value)


_discover()


def rows_where(summary, test):
    """The rows of a summary whose scenario passes `test`, a question put to the
    scenario (`lambda s: s.memory_under_load`), in the summary's order."""
    return summary[summary["scenario"].isin([n for n, s in SCENARIOS.items() if test(s)])]


def faulting() -> list[Scenario]:
    """The scenarios that make something go wrong (slow clients, overload, a kill): those
    that say what a config survived (`survives`), in their order."""
    return [s for s in SCENARIOS.values() if type(s).survives is not Scenario.survives]

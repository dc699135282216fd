"""Every chart, registered where it is drawn: `@chart(name, order, applies, note)`.

A chart is one module's function `draw(summary, colors=None, run=None) -> Figure`; its
decorator says when a run has the data for it, where it stands among the others, and
the note the report prints under it. A chart without a note cannot be registered: the
error comes at import, in the tests, not after a run. `every_point` charts compare the
ways of waiting and are drawn from every point; the others from the sleep points of a
run that has both (`derived.sleeping`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Chart:
    name: str
    order: int
    draw: Callable
    applies: Callable[[pd.DataFrame], bool]
    note: str
    every_point: bool = False


CHARTS: dict[str, Chart] = {}


def chart(name: str, order: int, applies: Callable[[pd.DataFrame], bool], note: str,
          every_point: bool = False) -> Callable:  # fmt: skip
    """Register the decorated drawing function as the chart `name`."""
    if not note.strip():
        raise ValueError(f"chart {name!r} has no note: say what a reader sees in it")

    def register(draw: Callable) -> Callable:
        if name in CHARTS:
            raise ValueError(f"two charts are named {name!r}")
        CHARTS[name] = Chart(name, order, draw, applies, note, every_point)
        ordered = sorted(CHARTS.values(), key=lambda c: (c.order, c.name))
        CHARTS.clear()
        CHARTS.update((c.name, c) for c in ordered)
        return draw

    return register


def has(scenario) -> Callable[[pd.DataFrame], bool]:
    """applies= for a chart of one scenario's points."""
    return lambda summary: not scenario.rows(summary).empty

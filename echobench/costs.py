"""Memory as a cost: what one process, one more worker and one more request in flight
add to a server's PSS, each fitted by least squares with its interval.

A single point's "PSS / requests in flight" mixes the process's base with the cost of
the requests, and moves with whatever else the process held at that moment; a slope
over several loads does not. `scipy.stats.linregress` gives each slope its standard
error; the 95% interval is slope +- t(0.975, n - 2) x that error, so three distinct
loads are the least a fit needs. A slope whose interval includes 0 is "not measurable
at this resolution", never a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from echobench import derived
from echobench.configs import ConfigError, get_config

LEVEL = 0.95
MIN_LOADS = 3  # distinct x values a slope needs


@dataclass(frozen=True)
class Fit:
    """A least-squares line y = intercept + slope x, with the slope's interval."""

    slope: float
    low: float
    high: float
    intercept: float
    residual: float  # root mean square of the residuals, in y's unit
    n: int  # points fitted
    loads: int  # distinct x values

    @property
    def measurable(self) -> bool:
        """The interval excludes 0: the slope is told apart from nothing."""
        return self.low > 0 or self.high < 0

    def text(self, unit: str = "MB") -> str:
        if not self.measurable:
            return f"not measurable at this resolution ({self.low:+.2g} to {self.high:+.2g} {unit})"
        return f"{self.slope:.3g} {unit} [{self.low:.3g}, {self.high:.3g}]"


def fit(x, y) -> Fit | None:
    """The line through (x, y), or None with fewer than MIN_LOADS distinct x."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    loads = len(np.unique(x))
    if loads < MIN_LOADS:
        return None
    line = scipy_stats.linregress(x, y)
    t = scipy_stats.t.ppf(0.5 + LEVEL / 2, len(x) - 2)
    residual = float(np.sqrt(np.mean((y - (line.intercept + line.slope * x)) ** 2)))
    half = t * line.stderr
    return Fit(float(line.slope), float(line.slope - half), float(line.slope + half),
               float(line.intercept), residual, len(x), loads)  # fmt: skip


def _with_family(data: pd.DataFrame) -> pd.DataFrame:
    def family(config: str) -> str | None:
        """The config's family; None for one this version does not know, or a `+nginx` /
        `+limitN` variant (its memory is another program's too: not the family's cost)."""
        try:
            found = get_config(config)
            return None if found.variant else found.family
        except ConfigError:
            return None  # a config this version does not know

    return data.assign(family=[family(c) for c in data["config"]]).dropna(subset=["family"])


def per_worker(summary: pd.DataFrame) -> dict[str, Fit]:
    """Per config family measured at MIN_LOADS or more worker counts: idle PSS against
    workers. The intercept plus one slope is the base of a one-process server."""
    data = _with_family(derived.loaded(summary))
    out = {}
    for family, rows in data.groupby("family", sort=False):
        found = fit(rows["workers"], rows["server_pss_idle_mb"])
        if found is not None:
            out[str(family)] = found
    return out


def per_request(summary: pd.DataFrame) -> dict[str, Fit]:
    """Per config held at MIN_LOADS or more levels of requests in flight (min(C, K)):
    peak PSS against those requests, at the config's one process count."""
    data = derived.with_in_flight(derived.loaded(summary))
    out = {}
    for config, rows in data.groupby("config", sort=False):
        found = fit(rows["in_flight"], rows["server_pss_peak_mb"])
        if found is not None:
            out[str(config)] = found
    return out


def base_mb(summary: pd.DataFrame) -> pd.Series:
    """Per config: its median idle PSS over the loaded points (the whole server at rest)."""
    data = derived.loaded(summary)
    return data.groupby("config", sort=False)["server_pss_idle_mb"].median()

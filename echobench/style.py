"""How configs look wherever a run is shown: their order, colour, marker and labels.

Charts, findings, the report and the notebook all read these, so a config is drawn and
named alike everywhere. The reading order follows the config families' order in
`configs.FAMILIES` (async first, the blocking mistake last), workers ascending.
"""

from __future__ import annotations

import math

import matplotlib

from echobench.configs import FAMILIES, ConfigError, get_config

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
INVALID = {"marker": "x", "color": "red", "s": 80, "linewidths": 2, "zorder": 5}
IDEAL = {"linestyle": "--", "linewidth": 1.2, "alpha": 0.8}
FAMILY_RANK = {name: rank for rank, name in enumerate(FAMILIES)}


def _rank(config: str) -> tuple[int, int, int, str]:
    try:
        cfg = get_config(config)
    except ConfigError:  # a config this version does not know: last, by name
        return len(FAMILY_RANK), 0, 0, config
    return FAMILY_RANK[cfg.family], cfg.workers, cfg.threads or 0, config


def ordered_configs(configs) -> list[str]:
    """Configs in a stable reading order: async first, blocking last, workers ascending."""
    return sorted(set(configs), key=_rank)


def config_colors(configs) -> dict[str, tuple]:
    """One colour per config, the same in every chart of a run."""
    names = ordered_configs(configs)
    palette = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"].colors
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def line_styles(configs) -> dict[str, dict]:
    """Marker and width per config: lines drawn first are wider, so overlaps stay visible."""
    names = ordered_configs(configs)
    return {
        name: {
            "marker": MARKERS[i % len(MARKERS)],
            "linewidth": max(1.2, 3.2 - 0.5 * i),
            "markersize": max(4.5, 9 - 1.0 * i),
        }
        for i, name in enumerate(names)
    }


def k_label(capacity) -> str:
    """K as a reader expects it: `inf` for an event loop, else its number."""
    k = float(capacity)
    return "inf" if math.isinf(k) else f"{k:g}"

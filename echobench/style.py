"""How configs look wherever a run is shown: their order, colour, marker and labels.

Charts, findings, the report and the notebook all read these, so a config is drawn and
named alike everywhere. The reading order follows the config families' order in
`configs.FAMILIES` (async first, the blocking mistake last), workers ascending.
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.colors

from echobench.configs import FAMILIES, ConfigError, get_config

INVALID = {"marker": "x", "color": "red", "s": 80, "linewidths": 2, "zorder": 5, "gid": "invalid"}
IDEAL = {"linestyle": "--", "linewidth": 1.2, "alpha": 0.8}
# Model and reference lines: a grey that no family wears (tests/test_style.py).
REFERENCE = "#555555"
# Each config's model line: one grey for all, never a config's colour (where two configs'
# models coincide, the one drawn last would otherwise lend its colour to both).
MODEL = "#8c8c8c"
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


# One colour and marker per config family, declared on the family (configs.py), so
# adding a family changes no other family's look: the Okabe-Ito colours
# (distinguishable with the common colour-vision deficiencies) first, then Paul Tol's
# muted ones. No red-green pair carries meaning alone: a family has a marker too.
FAMILY_COLORS = {name: family.color for name, family in FAMILIES.items()}
FAMILY_MARKERS = {name: family.marker for name, family in FAMILIES.items()}
OTHER = "#777777"  # a config this version does not know


def _family(config: str) -> str | None:
    try:
        return get_config(config).family
    except ConfigError:
        return None


def config_colors(configs) -> dict[str, tuple]:
    """Each config in its family's colour; several configs of one family in one chart
    (flask-sync-1 ... -16) go from the full colour towards white, in reading order."""
    names = ordered_configs(configs)
    colors = {}
    for family in dict.fromkeys(_family(n) for n in names):
        members = [n for n in names if _family(n) == family]
        base = matplotlib.colors.to_rgb(FAMILY_COLORS.get(family, OTHER))
        for rank, name in enumerate(members):
            mix = 0.55 * rank / max(1, len(members) - 1) if len(members) > 1 else 0.0
            colors[name] = tuple(c + (1 - c) * mix for c in base)
    return colors


def line_styles(configs) -> dict[str, dict]:
    """Marker per family and width per place: lines drawn first are wider, so overlaps
    stay visible."""
    names = ordered_configs(configs)
    return {
        name: {
            "marker": FAMILY_MARKERS.get(_family(name), "o"),
            "linewidth": max(1.2, 3.2 - 0.5 * i),
            "markersize": max(4.5, 9 - 1.0 * i),
            **variant_style(name),
        }
        for i, name in enumerate(names)
    }


def variant_style(config: str) -> dict:
    """What sets a `+nginx` or `+limitN` config apart from its bare server, in every chart:
    dashed behind nginx, hollow markers with a limit."""
    try:
        parsed = get_config(config)
    except ConfigError:
        return {}
    found = {}
    if parsed.proxy:
        found["linestyle"] = "--"
    if parsed.limit is not None:
        found["markerfacecolor"] = "white"
    return found


def k_label(capacity) -> str:
    """K as a reader expects it: `unbounded` for an event loop, else its number."""
    k = float(capacity)
    return "unbounded" if math.isinf(k) else f"{k:g}"

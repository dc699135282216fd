"""The report's sections for what the user brought: their own app (`run --app`) and
their advice (`advise --verify`), each beside what was measured."""

from __future__ import annotations

import pandas as pd

from echobench import stats
from echobench.advice import markdown_table as _table


def app_lines(summary: pd.DataFrame, run: dict) -> list[str]:
    """A `run --app` run: what was measured, the probe's D and c, what gevent does to the
    app, and where the app sits on the decision map."""
    from echobench import advise

    app = run.get("app")
    if not app:
        return []
    probe = app["probe"]
    lines = [
        f"`{app['target']}` ({app['interface'].upper()}), every user sending {app['method']} "
        f"`{app['path']}`; an answer is ok when 2xx"
        + (" with the first answer's body (--same-body)" if app["same_body"] else ""),
        f"The probe (one user, {probe['answers']} answers under {probe['config']}): the app "
        f"waits about D = {probe['wait_ms']:g} ms and computes c = {probe['cpu_ms']:g} ms per "
        "request (c: the server's CPU per answer, so the server's own HTTP work is in it; "
        "D: the median latency less c). Every point's model uses them.",
    ]
    if (summary["model"] == "gevent").any():
        lines.append("gunicorn's gevent worker monkey-patches the standard library before it "
                     "imports the app: its blocking calls yield to other requests there, and "
                     "only there.")  # fmt: skip
    wait_s, cpu_s = probe["wait_ms"] / 1000, probe["cpu_ms"] / 1000
    if wait_s + cpu_s > 0:
        workload = advise.Workload(wait_s, cpu_s, int(summary["users"].max()),
                                   int(summary["cores"].iloc[0]), 1.0)  # fmt: skip
        near = advise.nearest_cell(workload)
        if near:
            cell, dist = near
            lines.append(f"On the decision map the app sits at D = {probe['wait_ms']:g} ms, CPU "
                         f"share {cpu_s / (wait_s + cpu_s):.2f}; the nearest measured cell is D "
                         f"= {1000 * cell.delay_s:g} ms, c = {cell.work_ms:g} ms (distance "
                         f"{dist:.2f}).")  # fmt: skip
    return lines


def advice_against_measurement(summary: pd.DataFrame, run: dict) -> list[str] | None:
    """A run made from `advise --verify`'s profile: each pick's predicted rate beside the
    measured median and its interval, and their ratio."""
    advised = (run.get("profile") or {}).get("advice")
    if not advised:
        return None
    rows = []
    for config, predicted in (advised.get("rps") or {}).items():
        measured = summary[(summary["config"] == config) & summary["valid"]]
        span = stats.median_interval(measured["rps"]) if len(measured) else None
        latency = (advised.get("latency_ms") or {}).get(config)
        rows.append({
            "config": config,
            "advised req/s (model)": f"{predicted:.1f}",
            "measured req/s": span.text() if span else "not measured",
            "measured / advised": f"{span.median / predicted:.2f}" if span else "",
            "advised latency ms": "" if latency is None else f"{latency:.0f}",
            "measured p50 ms": f"{measured['p50_ms'].median():.0f}" if len(measured) else "",
        })  # fmt: skip
    head = (
        f"Asked: {advised.get('asked', '?')}; measured here at that workload scaled by "
        f"{advised.get('scaled_by', 1):g} (users and processes with this machine's cores)."
    )
    return [head, "", _table(pd.DataFrame(rows))]

"""`echobench servers`: every config family with its model, K, P and default pool."""

from __future__ import annotations

import argparse

from echobench import database
from echobench.configs import FAMILIES


def add(sub) -> None:
    p = sub.add_parser("servers", help="list every server config family with its model, K and P")
    p.set_defaults(func=run)


def run(_args: argparse.Namespace) -> int:
    width = max(map(len, FAMILIES))
    print(f"{'config':<{width}}  {'model':<10}  {'K':<10}  {'P':<3}  {'pool':<10}  what")
    for name, fam in FAMILIES.items():
        print(
            f"{name:<{width}}  {fam.model:<10}  {fam.slots.text:<10}  {fam.parallel.text:<3}  "
            f"{fam.pool:<10}  {fam.description}"
        )
    print("K: requests held at once; P: processes computing at once (one GIL each)")
    print(
        "pool: io = db connections per process by default (--pool N sets it); behind a "
        f"database K = min(K, N x pool, max_connections: {database.DEFAULT_MAX_CONNECTIONS} "
        "embedded)"
    )
    return 0

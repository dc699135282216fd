"""The verdict of `nox -s mutants`: mutmut's kill rate on the numbers modules, and which
surviving mutants docs/testing.md does not explain yet.

Usage: python -m tests.mutation_score [--minimum 0.90]   (after `mutmut run`)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATS = ROOT / "mutants" / "mutmut-cicd-stats.json"
EXPLAINED = ROOT / "docs" / "testing.md"


def survivors() -> list[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "mutmut", "results"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    return [m.group(1) for m in re.finditer(r"^\s*(\S+): (?:survived|no tests)", listed, re.M)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minimum", type=float, default=0.90, help="lowest kill rate accepted")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    stats = json.loads(STATS.read_text())
    caught = stats["killed"] + stats["timeout"]
    score = caught / stats["total"]
    counts = ", ".join(
        f"{key} {stats[key]}" for key in ("killed", "timeout", "survived", "no_tests")
    )
    print(f"mutants: {stats['total']} ({counts}): kill rate {score:.1%}")
    explained = EXPLAINED.read_text() if EXPLAINED.exists() else ""
    names = {name: name.removeprefix("echobench.") for name in survivors()}
    unexplained = [name for name, short in names.items() if f"`{short}`" not in explained]
    for name in unexplained:
        print(f"  not explained in docs/testing.md: {name} (`mutmut show {name}`)")
    if score < args.minimum:
        print(f"kill rate {score:.1%} is under the minimum {args.minimum:.0%}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`nox -s reference`: remake every committed reference run at one commit, in one go.

Each reference is a real `echobench run` of its profile, made into a new folder and
only then put in place of the old one (a failure keeps every reference as it was,
and stops). Its raw records are trimmed as the committed ones are: locust's own HTML
reports deleted, per-request records over 200 KB gzipped (echobench reads them as
they are). Last, the README's decision summary is regenerated from the new runs. A
working tree with uncommitted changes is refused: every reference names its commit.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from echobench import profiles, results

README = Path("README.md")
GZIP_OVER_BYTES = 200_000
# Where the README's generated decision summary starts and ends.
BEGIN = "<!-- decision summary: generated from the reference runs by `nox -s reference` -->"
END = "<!-- end of the generated decision summary -->"


@dataclass(frozen=True)
class Reference:
    folder: str  # under results/
    profile: str
    extra: tuple[str, ...] = ()  # its run's options, as the README gives them

    def command(self, out: Path) -> list[str]:
        return [sys.executable, "-m", "echobench", "run", "--profile", self.profile,
                "--out", str(out), *self.extra]  # fmt: skip


TWO = ("--loadgen-processes", "2")
REFERENCES = (
    Reference("reference", "standard"),
    Reference("reference-open", "open"),
    Reference("reference-scale", "scale", TWO),
    Reference("reference-crossover", "crossover"),
    Reference("reference-servers", "servers", TWO),
    Reference("reference-db", "db", TWO),
    Reference("reference-faults", "faults"),
)


def trim(run_dir: Path) -> None:
    """As the committed references are: no locust HTML, large records gzipped."""
    for page in [*run_dir.glob("raw/*/locust_report.html"),
                 *run_dir.glob("client-cost/locust_report.html")]:  # fmt: skip
        page.unlink()
    for records in [*run_dir.glob("raw/*/requests*.csv"), *run_dir.glob("client-cost/*.csv")]:
        if records.stat().st_size > GZIP_OVER_BYTES:
            with records.open("rb") as plain, gzip.open(f"{records}.gz", "wb") as packed:
                shutil.copyfileobj(plain, packed)
            records.unlink()


def decision_summary(root: Path = results.RESULTS_ROOT) -> str:
    """The README's decision summary, from the standard, crossover, db and faults
    references (a reference not yet made is left out)."""
    from echobench import advice

    def load(name: str):
        return results.load_summary(root / name)

    faults = root / "reference-faults"
    return advice.markdown(
        load("reference"),
        load("reference-crossover"),
        load("reference-db"),
        load("reference-faults") if (faults / "summary.csv").exists() else None,
    )


def write_readme(readme: Path = README, root: Path = results.RESULTS_ROOT) -> None:
    """Put the summary generated from the references between the README's markers."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme} lacks the markers of its generated decision summary")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    results.atomic_write(readme, f"{head}{BEGIN}\n{decision_summary(root)}\n{END}{tail}")


NUMBERS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
REFERENCE_README = "README.md"  # in results/reference/: what the folders hold
TRIMMED = "Their numbers are as measured"  # where its hand-written part begins


def reference_readme_head(root: Path = results.RESULTS_ROOT) -> str:
    """The reference folders' README down to its hand-written part: how many runs, at
    which commits, the table of folders (command, points, validity, commit) and the
    machine, each from the runs' own files."""
    rows, commits, machine = [], [], {}
    for ref in REFERENCES:
        folder = root / ref.folder
        if not (folder / "summary.csv").exists():
            continue
        summary, meta = results.load_summary(folder), results.load_run(folder)
        commit = (meta.get("git") or {}).get("commit", "")[:7]
        commits.append(commit)
        machine = machine or meta.get("machine", {})
        valid = int(summary["valid"].sum())
        said = "all valid" if valid == len(summary) else f"{valid} valid"
        command = ("`nox -s bench` (standard profile)" if ref.profile == "standard" else
                   f"`nox -s bench -- --profile {ref.profile}{' ' if ref.extra else ''}"
                   f"{' '.join(ref.extra)}`")  # fmt: skip
        rows.append(f"| `{ref.folder}/` | {command} | {len(summary)}, {said} | {commit} |")
    distinct = len(set(commits))
    when = (f"all at commit {commits[0]}, made together by `nox -s reference`" if distinct == 1
            else f"at the commit its `run.json` names ({NUMBERS[distinct].lower()} commits in "
            "all: they predate the one command that remakes them together at one commit, "
            "and their profiles have since gained repeats)")  # fmt: skip
    cores = machine.get("cores_logical", "?")
    return "\n".join([
        "# Reference runs", "",
        textwrap.fill(f"{NUMBERS[len(rows)]} real runs, each made from a fresh clone exactly "
                      f"as the top-level README says, {when}:", 88), "",
        "| folder | command | points | commit |", "| --- | --- | --- | --- |", *rows, "",
        textwrap.fill(f"Machine: {machine.get('cpu_model', '?')}, {cores} logical cores "
                      f"(servers and load generator share them), {machine.get('memory_gib', '?')}"
                      f" GiB, Python {machine.get('python', '?')}; every run's `run.json` holds "
                      "the full machine description, package versions, git revision and load "
                      "average at start.", 88), "",
    ])  # fmt: skip


def write_reference_readme(keep: str, root: Path = results.RESULTS_ROOT) -> None:
    """The reference folders' README: the generated head, then `keep` (the hand-written
    part of the old one)."""
    target = root / REFERENCES[0].folder / REFERENCE_README
    results.atomic_write(target, reference_readme_head(root) + keep)


def _clean_tree() -> str | None:
    """The reason the working tree cannot make references, or None."""
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        return "not a git checkout: a reference must name its commit"
    if done.stdout.strip():
        return "the working tree has uncommitted changes: commit them first"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s reference", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="say what would run, run nothing")
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="only regenerate the READMEs' parts from the references",
    )
    parser.add_argument("--only", action="append", metavar="PROFILE",
                        choices=[r.profile for r in REFERENCES],
                        help="remake only this profile's reference (repeatable); the others "
                        "keep their commits, as the reference README then says")  # fmt: skip
    args = parser.parse_args(argv)
    chosen = [r for r in REFERENCES if not args.only or r.profile in args.only]
    if args.readme_only:
        old = (results.RESULTS_ROOT / REFERENCES[0].folder / REFERENCE_README).read_text()
        write_reference_readme(old[old.index(TRIMMED) :])
        write_readme()
        return 0
    minutes = sum(profiles.load_profile(r.profile).expected_s for r in chosen) / 60
    for ref in chosen:
        print(f"results/{ref.folder}: {' '.join(ref.command(Path('...'))[2:])}")
    print(f"about {minutes:.0f} min in all (the profiles' own estimates)")
    if args.dry_run:
        return 0
    reason = _clean_tree()
    if reason:
        print(f"nox -s reference: {reason}", file=sys.stderr)
        return 2
    old = (results.RESULTS_ROOT / REFERENCES[0].folder / REFERENCE_README).read_text()
    keep = old[old.index(TRIMMED) :] if TRIMMED in old else ""
    for ref in chosen:
        final = results.RESULTS_ROOT / ref.folder
        fresh = final.with_name(f".{ref.folder}.new")
        shutil.rmtree(fresh, ignore_errors=True)
        code = subprocess.run(ref.command(fresh), check=False).returncode
        if code not in (0, 3):
            print(f"nox -s reference: {ref.profile} exited {code}; results/{ref.folder} and "
                  "the later references are unchanged", file=sys.stderr)  # fmt: skip
            shutil.rmtree(fresh, ignore_errors=True)
            return code or 1
        trim(fresh)
        shutil.rmtree(final, ignore_errors=True)
        fresh.rename(final)
    write_reference_readme(keep)
    write_readme()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`nox -s reference`: what it would run, how it trims a run, and the README parts it
writes, each generated from the runs' own files."""

from __future__ import annotations

import gzip
from pathlib import Path

from echobench import profiles, reference

ROOT = Path(__file__).resolve().parents[1]


def test_the_dry_run_names_every_reference_and_the_time(capsys):
    assert reference.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    for ref in reference.REFERENCES:
        assert f"results/{ref.folder}: echobench run --profile {ref.profile} --out" in out
    minutes = sum(profiles.load_profile(r.profile).expected_s for r in reference.REFERENCES)
    assert f"about {minutes / 60:.0f} min in all" in out
    folders = sorted(p.name for p in (ROOT / "results").glob("reference*") if p.is_dir())
    assert sorted(r.folder for r in reference.REFERENCES) == folders, "one home for the list"


def test_a_run_is_trimmed_as_the_committed_ones_are(tmp_path):
    raw = tmp_path / "raw" / "001-x"
    raw.mkdir(parents=True)
    (raw / "locust_report.html").write_text("<html>")
    big = "t,event\n" + "1,send\n" * 40_000
    (raw / "requests.csv").write_text(big)
    (raw / "requests.w1.csv").write_text("t,event\n")
    (tmp_path / "client-cost").mkdir()
    (tmp_path / "client-cost" / "locust_report.html").write_text("<html>")
    reference.trim(tmp_path)
    assert not (tmp_path / "client-cost" / "locust_report.html").exists()
    assert sorted(p.name for p in raw.iterdir()) == ["requests.csv.gz", "requests.w1.csv"]
    assert gzip.decompress((raw / "requests.csv.gz").read_bytes()).decode() == big


def test_the_readme_parts_are_generated_from_the_references(tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = readme.split(reference.BEGIN, 1)[1].split(reference.END, 1)[0]
    assert block.strip() == reference.decision_summary(ROOT / "results").strip()
    copy = tmp_path / "README.md"
    copy.write_text(readme.replace(block, "\nstale\n"))
    reference.write_readme(copy, ROOT / "results")
    assert copy.read_text() == readme
    head = (ROOT / "results" / "reference" / "README.md").read_text()
    assert head.startswith(reference.reference_readme_head(ROOT / "results"))


def test_only_remakes_the_named_references_and_says_how_long(capsys):
    assert reference.main(["--dry-run", "--only", "faults"]) == 0
    out = capsys.readouterr().out
    assert "results/reference-faults: echobench run --profile faults" in out
    assert "results/reference:" not in out and "reference-db" not in out
    minutes = profiles.load_profile("faults").expected_s / 60
    assert f"about {minutes:.0f} min in all" in out

"""run.json's git revision: a checkout is dirty when its code changed, not its results."""

from __future__ import annotations

import subprocess

from echobench import environment


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_rewritten_results_leave_the_checkout_clean_and_code_does_not(tmp_path, monkeypatch):
    (tmp_path / "results" / "reference").mkdir(parents=True)
    (tmp_path / "results" / "reference" / "summary.csv").write_text("a\n1\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    monkeypatch.setattr(environment, "CHECKOUT", tmp_path)
    assert environment.git_revision()["dirty"] is False
    # what `nox -s reference` does between its runs: a committed run rewritten
    (tmp_path / "results" / "reference" / "summary.csv").write_text("a\n2\n")
    assert environment.git_revision()["dirty"] is False
    (tmp_path / "app.py").write_text("x = 2\n")
    assert environment.git_revision()["dirty"] is True

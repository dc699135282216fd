"""Sessions: `nox -s tests` and `nox -s lint` by default; `nox -s bench` on purpose."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def install(session: nox.Session, *groups: str) -> None:
    """Install echobench with its declared dependencies and the named groups."""
    session.install("--upgrade", "pip")
    group_args = [arg for group in groups for arg in ("--group", group)]
    session.install("-e", ".", *group_args)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (contract, real servers, pipeline smoke run)."""
    install(session, "test")
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session
def lint(session: nox.Session) -> None:
    """Check lint and formatting with ruff."""
    session.install("--upgrade", "pip")
    session.install("--group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")

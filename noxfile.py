"""Sessions: `nox -s tests` and `nox -s lint` by default; `nox -s bench` on purpose."""

import signal

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
    """Run the test suite: the quick tests on both cores at once (with the slow ones that
    hold no timing or rate, `parallel_safe`), then the slow ones that measure, one at a
    time."""
    install(session, "test")
    if session.posargs:
        session.run("pytest", *session.posargs)
        return
    # loadgroup: a module's shared servers (xdist_group) start on one worker, not both
    session.run("pytest", "-q", "-m", "not slow or parallel_safe", "-n", "2", "--dist", "loadgroup")
    session.run("pytest", "-q", "-m", "slow and not parallel_safe", "--durations=25")


@nox.session
def lint(session: nox.Session) -> None:
    """Check lint and formatting with ruff."""
    session.install("--upgrade", "pip")
    session.install("--group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(default=False)
def mutants(session: nox.Session) -> None:
    """Mutation-test the modules that compute figures, ideals and verdicts (slow)."""
    install(session, "test", "mutants")
    session.run("mutmut", "run", *session.posargs, success_codes=[0, 1])
    session.run("python", "-m", "tests.mutation_score", "--minimum", "0.90")


@nox.session(default=False)
def notebook(session: nox.Session) -> None:
    """Open analysis.ipynb in Jupyter (it reads results/latest, else the reference runs)."""
    install(session)
    session.install("notebook>=7.0")
    session.run("jupyter", "notebook", "analysis.ipynb", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmark (standard profile); the run writes its report and charts."""
    install(session)
    args = session.posargs or ["--profile", "standard"]
    if "--help" in args or "-h" in args:
        session.run("python", "-m", "echobench", "run", "--help")
        return
    # Exit 3 means some points are invalid: still a result, reported with reasons.
    # On Ctrl-C or SIGTERM nox sends echobench SIGTERM at once (interrupt_timeout=0; nox
    # never forwards SIGINT itself) and gives it 60 s to stop its servers and save.
    # Both are set explicitly: a SIGINT ignored by the parent shell would otherwise stay ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    session.run(
        "python",
        "-m",
        "echobench",
        "run",
        *args,
        success_codes=[0, 3],
        interrupt_timeout=0,
        terminate_timeout=60,
    )


@nox.session(default=False)
def advise(session: nox.Session) -> None:
    """Rank server configs for your workload: `nox -s advise -- --wait 80ms --users 300`."""
    install(session)
    session.run("python", "-m", "echobench", "advise", *(session.posargs or ["--help"]))


@nox.session(default=False)
def reference(session: nox.Session) -> None:
    """Remake every committed reference run at this commit, then the README's summary
    (about 1 h 45 min on 2 cores; `-- --dry-run` says what would run)."""
    install(session)
    session.run("python", "-m", "echobench.reference", *session.posargs)


@nox.session(default=False)
def client(session: nox.Session) -> None:
    """Benchmark the load generator: its CPU per request and its rate against wrk's."""
    install(session)
    args = session.posargs or ["fastapi-async", "--repeats", "3"]
    session.run("python", "-m", "tests.wrk_check", *args)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)

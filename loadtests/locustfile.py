"""echobench's locustfile: reads the point once and wires locust's events.

Run by the orchestrator as `python -m locust -f loadtests/locustfile.py,USER_FILES
--headless --eb-point JSON UserClasses`, never imported by it (locust monkey-patches
with gevent); USER_FILES are the point's scenario's user modules (loadtests/users/),
which locust loads beside this file (`echobench.loadgen.locustfiles`).
The roles live in their own modules: `users` (each scenario's users), `recorder`
(per-request rows and the clock), `conductor` (the release barrier and the end of a
point) and `distributed` (a worker's link to its master, the master's roll call).
"""

from __future__ import annotations

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadtests import settings
from loadtests.conductor import CONDUCTOR, conduct
from loadtests.distributed import LINK, ROLL
from loadtests.recorder import RECORDER


@events.init_command_line_parser.add_listener
def _add_arguments(parser) -> None:
    group = parser.add_argument_group("echobench")
    group.add_argument("--eb-point", help="the point as JSON (echobench.loadgen.locust_point)")


def _read_point(environment) -> None:
    """The point's settings, from the options (a worker has them once the master spawns)."""
    CONDUCTOR.settings = settings.parse(environment.parsed_options.eb_point)


@events.init.add_listener
def _configure(environment, **_kwargs) -> None:
    if environment.parsed_options is None:
        return
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        LINK.register(runner, on_go=CONDUCTOR.released.set, on_stop=CONDUCTOR.stop_now.set)
        return
    _read_point(environment)
    if isinstance(runner, MasterRunner):
        ROLL.register(environment, CONDUCTOR.settings.records)
        events.worker_connect.add_listener(ROLL.joined)


@events.test_start.add_listener
def _start(environment, **_kwargs) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        gevent.spawn(ROLL.watch)
        return  # the master runs no users: the workers record and conduct their own
    if isinstance(runner, WorkerRunner):
        _read_point(environment)
        RECORDER.keep_rows()
    else:
        RECORDER.write_to(CONDUCTOR.settings.records)
    gevent.spawn(conduct, environment)


@events.quitting.add_listener
def _close(environment, **_kwargs) -> None:
    if isinstance(environment.runner, MasterRunner):
        ROLL.write_roll()
    RECORDER.close()

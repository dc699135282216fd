"""The toy scenario's locust user (tests/test_scenario_unit.py): a closed loop that
pauses 20 ms between its echoes. Loaded by locust beside loadtests/locustfile.py, as
every scenario's users are; never imported by the tests themselves."""

from __future__ import annotations

import gevent
from locust import task

from loadtests.conductor import CONDUCTOR
from loadtests.recorder import RECORDER
from loadtests.users.base import EchoUserBase

PAUSE_S = 0.02


class PausingUser(EchoUserBase):
    @task
    def loop(self) -> None:
        while RECORDER.now() < CONDUCTOR.send_until:
            self.echo()
            gevent.sleep(PAUSE_S)
        gevent.sleep(3600)

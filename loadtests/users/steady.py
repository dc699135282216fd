"""The closed loop's user (steady, calibrate and the slow echoes of mixed)."""

from __future__ import annotations

import gevent
from locust import task

from loadtests.conductor import CONDUCTOR, users_here
from loadtests.recorder import RECORDER
from loadtests.users.base import EchoUserBase


class EchoUser(EchoUserBase):
    """Closed loop: echo requests back to back, starts staggered over one delay."""

    def on_start(self) -> None:
        super().on_start()
        stagger = CONDUCTOR.settings.delay_s * self.index / max(1, users_here(self.environment))
        gevent.sleep(stagger)

    @task
    def loop(self) -> None:
        """Back to back until the window ends, in one task: locust's scheduler and
        wait_time between requests would cost as much as the request itself."""
        while RECORDER.now() < CONDUCTOR.send_until:
            if self.echo() != "ok":
                self.after_failure()
        gevent.sleep(3600)  # idle until the conductor quits

    def after_failure(self) -> None:
        """The next request goes at once (a closed loop's way)."""

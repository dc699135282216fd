"""The mixed scenario's fast-page user, beside the closed loop's slow echoes."""

from __future__ import annotations

import gevent
from locust import constant_pacing, task

from loadtests.conductor import CONDUCTOR
from loadtests.recorder import RECORDER
from loadtests.users.base import EchoUserBase
from servers import contract


class PageUser(EchoUserBase):
    """The light, separate stream of fast `GET /` requests of the mixed scenario."""

    fixed_count = 1

    def wait_time(self) -> float:
        """One page every `fast_interval_s`, whatever its latency (the point's setting)."""
        return constant_pacing(CONDUCTOR.settings.fast_interval_s)(self)

    @task
    def page(self) -> None:
        if RECORDER.now() >= CONDUCTOR.send_until:
            gevent.sleep(3600)
            return
        self.request("page", "/", contract.render_page())

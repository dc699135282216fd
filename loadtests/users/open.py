"""The open loop's user: one of a pool of senders taking arrivals from the schedule."""

from __future__ import annotations

import gevent
from gevent.queue import Empty
from locust import task

from loadtests.conductor import CONDUCTOR
from loadtests.users.base import EchoUserBase


class OpenUser(EchoUserBase):
    """Open loop: one of a pool of senders taking arrivals from the schedule."""

    @task
    def arrivals(self) -> None:
        """Each arrival as it falls due, until the conductor closes the point."""
        while not CONDUCTOR.closed:
            try:
                intended = CONDUCTOR.arrivals.get(timeout=1.0)
            except Empty:
                continue
            self.echo(intended_at=intended)
        gevent.sleep(3600)

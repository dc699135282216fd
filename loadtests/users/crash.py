"""The crash scenario's user: a closed loop that counts a request its connection lost."""

from __future__ import annotations

import gevent

from loadtests.conductor import CONDUCTOR
from loadtests.users.steady import EchoUser


class CrashUser(EchoUser):
    """Closed loop, as EchoUser, except that a request whose connection died is not sent
    again (it is what the kill lost), and after a failure the user waits one D before
    its next request, as a client backs off, so a dead server is not spun against."""

    def on_start(self) -> None:
        super().on_start()
        self.connection.resend_stale = False

    def after_failure(self) -> None:
        gevent.sleep(CONDUCTOR.settings.delay_s)

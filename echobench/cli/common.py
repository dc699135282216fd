"""What every subcommand shares: its usage errors, argparse with suggestions, signals."""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import re
import signal


class UsageError(Exception):
    """A mistake in how echobench was called: exit 2, one line."""


class Parser(argparse.ArgumentParser):
    """argparse that suggests the option meant when one is misspelt (`--profle`)."""

    def error(self, message: str):
        unknown = re.search(r"unrecognized arguments: (--?[\w-]+)", message)
        if unknown:
            parsers = [self] + [
                sub
                for action in self._actions
                if isinstance(action, argparse._SubParsersAction)
                for sub in action.choices.values()
            ]
            options = sorted({o for p in parsers for a in p._actions for o in a.option_strings})
            guess = difflib.get_close_matches(unknown.group(1), options, n=1, cutoff=0.6)
            if guess:
                message += f" (did you mean {guess[0]}?)"
        super().error(message)


def stop_on_signals() -> None:
    """SIGINT or SIGTERM become one KeyboardInterrupt; later signals cannot cut the cleanup."""

    def handler(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def exposed(host: str) -> bool:
    """True unless host is a loopback address (127.0.0.0/8, ::1) or localhost."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True

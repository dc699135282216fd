"""The per-request record format shared by loadtests/recorder.py (writer) and metrics (reader).

Kept free of heavy imports: the locust process imports it too.
"""

REQUEST_FIELDS = [
    "event",  # send | done | mark
    "req_id",
    "kind",  # echo | page; for marks: release | end | error
    "user",
    "sent_at",  # wall clock, s; a mark's own time; empty if it never left (open loop)
    "intended_at",  # open loop: when the schedule said it should be sent
    "done_at",
    "latency_ms",  # perf_counter around the request
    "status",
    "outcome",  # ok | failed | timeout
    "error",
    "cpu_s",  # marks: the locust process's CPU seconds so far
    "worker",  # done: the server process that answered (its X-Echobench-Worker header)
    "server_timing",  # done, io = db: its Server-Timing header (pool wait and query, ms)
]
# Records written before the last columns were added: read with those columns empty.
LEGACY_REQUEST_FIELDS = [REQUEST_FIELDS[:-2], REQUEST_FIELDS[:-1]]

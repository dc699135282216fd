"""The sampler counts memory as PSS: forked workers' shared pages once, not N times."""

from __future__ import annotations

import subprocess
import sys

import pytest

from echobench import processes
from echobench.sampler import MB, measure_tree

# 128 MB touched page by page, then three forked children that share it until they exit
FORKED_TREE = """
import os, sys, time
shared = bytearray(128 * 1024 * 1024)
for i in range(0, len(shared), 4096):
    shared[i] = 1
for _ in range(3):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_forked_tree_is_counted_by_pss_not_rss(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", FORKED_TREE], stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "ready"
        count, pss_mb, rss_mb, cpu_s = measure_tree(processes.tree(proc.pid))
    finally:
        processes.stop(proc)
    assert count == 4
    assert rss_mb > 4 * 128 * 0.95, "each of the four maps the whole buffer"
    assert pss_mb == pytest.approx(128, abs=48), "PSS counts the shared buffer once"
    assert cpu_s > 0
    assert MB == 1024 * 1024

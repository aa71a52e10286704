"""``engine.runtime.memory``: freed arrays kept for reuse (glibc's mallopt thresholds raised at
``import convgrad``), so a loop that allocates and frees the same large arrays stops page-
faulting after its first round; ``CONVGRAD_KEEP_MEMORY=0`` keeps glibc's defaults."""

import json
import os
import subprocess
import sys

import pytest

from convgrad.engine.runtime import memory

PROBE = r"""
import json, resource, numpy as np
import convgrad
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds = []
for _ in range(6):                       # a training step's pattern: allocate, use, free
    start = faults()
    arrays = [np.ones(3 << 20, np.float32) for _ in range(4)]    # 12 MiB each
    del arrays
    rounds.append(faults() - start)
print(json.dumps(rounds))
"""


def _faults_per_round(keep: str) -> list[int]:
    env = os.environ | {"CONVGRAD_KEEP_MEMORY": keep}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


needs_glibc = pytest.mark.skipif(memory._glibc() is None, reason="glibc's malloc only")


@needs_glibc
def test_freed_arrays_are_reused_without_page_faults():
    kept, default = _faults_per_round("1"), _faults_per_round("0")
    # 48 MiB per round: ~12 K pages (or a few dozen huge pages) faulted in each time by
    # default; kept, the later rounds reuse the heap and fault (almost) nothing
    assert max(kept[2:]) < 50, kept
    assert min(default[2:]) > 20 * max(1, max(kept[2:])), (default, kept)


@needs_glibc
def test_keep_and_release_report_success():
    assert memory.keep_freed_memory() is True
    assert isinstance(memory.release(), bool)


def test_the_switch_reads_the_environment(monkeypatch):
    monkeypatch.setenv("CONVGRAD_KEEP_MEMORY", "off")
    assert memory.apply_default() is False
    monkeypatch.setenv("CONVGRAD_KEEP_MEMORY", "1")
    assert memory.apply_default() is (memory._glibc() is not None)

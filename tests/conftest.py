import os

from hypothesis import HealthCheck, settings

# Wait for the compiled Winograd code where the method rule wants it (convgrad/ops/warmup.py):
# the tests' method choices must not depend on whether a background build has finished.
# (Set before any test module imports convgrad; the tests' subprocesses inherit it.)
os.environ.setdefault("CONVGRAD_COMPILE", "wait")

settings.register_profile("default", deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=300, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")

# tests/tutorials/ holds PyTorch tutorial scripts that test_tutorials.py runs under both torch and
# convgrad; they are data, not test modules (and not doctest modules).
collect_ignore_glob = ["tutorials/*"]

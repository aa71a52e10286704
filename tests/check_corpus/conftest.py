# Student-style convolutions checked by tests/test_check_diagnose.py: data, not tests.
collect_ignore_glob = ["*.py"]

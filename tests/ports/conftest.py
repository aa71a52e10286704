# The scripts here are PyTorch programs that tests/test_ports.py runs under torch and convgrad;
# they are data, not test modules (nor doctest modules).
collect_ignore_glob = ["*.py"]

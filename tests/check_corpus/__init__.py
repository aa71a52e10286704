"""Student-style convolutions (data for tests/test_check_diagnose.py); a package only so that
its conftest.py does not collide with tests/conftest.py."""

"""Helpers shared by the tests. Test modules and conftest files import helpers only from here, never from
one another (tests/test_layout.py checks this)."""

"""Fixtures of the contract tests: the emulated tenant."""

from tests.support.cloudlab import make_lab  # noqa: F401 - a fixture, found by pytest through this conftest

"""Fixtures shared by the host tests."""

import pytest


@pytest.fixture
def mac(make_mac):
    """A simulated Mac on which no user is marked logged out."""
    return make_mac(logged_out=[])

"""Fixtures for the cloud side: an emulated tenant over real HTTPS and simulated Macs linked to it."""

from tests.support.cloudlab import make_lab  # noqa: F401 - the emulated tenant fixture

"""Fixtures for the escrow store: the test keyring, or none."""

from tests.support.escrowkit import no_keyring, test_keyring  # noqa: F401 - fixtures

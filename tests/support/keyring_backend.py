"""A tiny file-backed keyring backend for tests: real keyring plumbing, selected with
PYTHON_KEYRING_BACKEND=tests.support.keyring_backend.FileKeyring and CLEANUP_TEST_KEYRING=<json file>."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    # Only ever selected explicitly through PYTHON_KEYRING_BACKEND; never picked up by discovery.
    priority = 0.5

    @property
    def path(self) -> Path:
        return Path(os.environ["CLEANUP_TEST_KEYRING"])

    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, data: dict) -> None:
        self.path.write_text(json.dumps(data))

    def get_password(self, service, username):
        return self._load().get(f"{service}\x00{username}")

    def set_password(self, service, username, password):
        data = self._load()
        data[f"{service}\x00{username}"] = password
        self._save(data)

    def delete_password(self, service, username):
        data = self._load()
        if data.pop(f"{service}\x00{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._save(data)

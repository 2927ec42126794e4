"""Secrets for the cloud services: the environment first (unattended runs), then the OS keyring.

Entries are stored with service ``cleanup`` and user name ``"<secret name>:<account>"``, so one machine
can hold secrets for several API clients or apps. Values are never logged or put into messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeGuard

from cleanup.errors import CleanupError, ConfigError, UsageError

# keyring (and its backends) is imported when a secret is first needed: most commands never touch it, and it
# costs a tenth of a second at every start of the command line
if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

# secret name -> (environment variable, what it is, for messages)
SECRET_NAMES: dict[str, tuple[str, str]] = {
    "jamf-client-secret": ("CLEANUP_JAMF_CLIENT_SECRET", "Jamf Pro API client secret"),
    "jamf-password": ("CLEANUP_JAMF_PASSWORD", "Jamf Pro user password"),
    "graph-client-secret": ("CLEANUP_GRAPH_CLIENT_SECRET", "Entra app client secret"),
    "graph-private-key": ("CLEANUP_GRAPH_PRIVATE_KEY", "Entra app certificate private key"),
}


def env_var(name: str) -> str:
    try:
        return SECRET_NAMES[name][0]
    except KeyError:
        raise UsageError(f"unknown secret {name!r}") from None


def describe(name: str) -> str:
    env_var(name)
    return SECRET_NAMES[name][1]


def check_private_key(pem: str, where: str) -> str:
    """``pem`` when it holds an unencrypted RSA private key (Entra signs RS256) and any certificate in it loads and
    belongs to that key; else ConfigError naming ``where``: never a word of the value itself."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = pem.encode("utf-8", errors="replace")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ConfigError(f"{where} is an encrypted private key; export it without a password") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{where} is not a PEM private key (-----BEGIN PRIVATE KEY----- ...)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{where} is not an RSA private key (Entra app certificates use RSA)")
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            cert = x509.load_pem_x509_certificates(data)[0]
        except ValueError:
            raise ConfigError(f"{where} holds a certificate that is not valid PEM") from None
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
            raise ConfigError(f"{where} holds a certificate that does not belong to its private key")
    return pem


def _usable(backend: KeyringBackend | None) -> TypeGuard[KeyringBackend]:
    from keyring.backends import chainer, fail

    if backend is None or isinstance(backend, fail.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return False
    try:
        return bool(backend.priority > 0)  # the null backend (priority -1) silently stores nothing
    except Exception:
        return False


class Secrets:
    def __init__(self, env: Mapping[str, str] = os.environ, service: str = "cleanup"):
        self.env = env
        self.service = service

    # -- keyring plumbing ----------------------------------------------------------------------------

    def _backend(self) -> KeyringBackend | None:
        import keyring

        try:
            return keyring.get_keyring()
        except Exception:  # a broken keyring configuration must not crash the tool
            return None

    def backend_name(self) -> str | None:
        backend = self._backend()
        return backend.name if _usable(backend) else None

    def _require_backend(self, name: str) -> KeyringBackend:
        backend = self._backend()
        if not _usable(backend):
            raise UsageError(f"no keyring backend on this machine: set {env_var(name)} in the environment instead (see `cleanup creds --help`)")
        return backend

    def _user(self, name: str, account: str | None) -> str:
        env_var(name)
        if not account:
            raise UsageError(f"no account for the {describe(name)}: configure the client id or user name first")
        return f"{name}:{account}"

    def _keyring_failed(self, what: str, name: str, exc: Exception) -> CleanupError:
        return CleanupError(
            f"the keyring could not {what} the {describe(name)} ({type(exc).__name__})",
            f"unlock the keyring, or set {env_var(name)} in the environment",
        )

    # -- API -----------------------------------------------------------------------------------------

    def get(self, name: str, account: str | None) -> str | None:
        """The secret from the environment, else from the keyring, else None."""
        import keyring.errors

        value = self.env.get(env_var(name))
        if value:
            return value
        backend = self._require_backend(name)
        try:
            return backend.get_password(self.service, self._user(name, account)) or None
        except keyring.errors.KeyringError as exc:
            raise self._keyring_failed("read", name, exc) from None

    def private_key(self, name: str, account: str | None) -> str | None:
        """:meth:`get` for a private key, checked (:func:`check_private_key`): the error names the variable or
        keyring entry it came from."""
        var = env_var(name)
        value = self.get(name, account)
        if not value:
            return None
        where = f"environment variable {var}" if self.env.get(var) else f"keyring entry {self._user(name, account)!r}"
        return check_private_key(value, f"the {describe(name)} in the {where}")

    def source(self, name: str, account: str | None) -> str:
        """Where :meth:`get` would find the secret; never the value."""
        import keyring.errors

        var = env_var(name)
        if self.env.get(var):
            return f"environment ({var})"
        backend = self._backend()
        if not _usable(backend):
            return f"not set (no keyring backend: use {var})"
        if not account:
            return "not set"
        try:
            found = backend.get_password(self.service, self._user(name, account))
        except keyring.errors.KeyringError:
            return f"unknown (keyring ({backend.name}) could not be read)"
        return f"keyring ({backend.name})" if found else "not set"

    def set(self, name: str, account: str, value: str) -> None:
        import keyring.errors

        if not value:
            raise UsageError(f"an empty {describe(name)} was given; nothing stored")
        user = self._user(name, account)
        backend = self._require_backend(name)
        try:
            backend.set_password(self.service, user, value)
        except keyring.errors.KeyringError as exc:
            raise self._keyring_failed("store", name, exc) from None

    def delete(self, name: str, account: str) -> bool:
        """Remove the keyring entry; False if there was none. The environment is not touched."""
        import keyring.errors

        user = self._user(name, account)
        backend = self._require_backend(name)
        try:
            backend.delete_password(self.service, user)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise self._keyring_failed("delete", name, exc) from None
        return True

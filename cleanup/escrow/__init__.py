"""Nothing lost that cannot be got back: what Jamf Pro escrowed for a computer record (the FileVault personal
recovery key, LAPS passwords, the Recovery Lock password) is saved before step 4 deletes the record.

- :mod:`cleanup.escrow.store`: where it is saved (the keyring, or escrow files encrypted to a public key);
- :mod:`cleanup.escrow.fileformat`: the escrow file's format and its encryption;
- :mod:`cleanup.escrow.index`: the record of what was saved (never a value);
- :mod:`cleanup.escrow.reveal`: the values back, for ``cleanup escrow show``.

It sits beside the clients: it imports ``clients`` (config, secrets), ``identifiers``, ``readlimit`` and
``errors`` only. The actions never import it: the CLI and the batch hand a run its :class:`Escrow` through
``RunOptions.escrow``.
"""

from __future__ import annotations

from cleanup.escrow.store import KINDS, Escrow, open_escrow

__all__ = ["KINDS", "Escrow", "open_escrow"]

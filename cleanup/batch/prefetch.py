"""A batch's plan reads the records of a chunk of Macs in bulk, instead of a few reads per Mac: see
:func:`cleanup.clients.lookup.chunk_lookups`, which this names for the batch runner."""

from __future__ import annotations

from cleanup.clients.lookup import chunk_lookups as lookups

__all__ = ["lookups"]

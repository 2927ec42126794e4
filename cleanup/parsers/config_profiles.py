"""Parser for ``profiles show -type configuration``: the installed configuration profiles and their payload types.

Lines look like ``_computerlevel[1] attribute: profileIdentifier: com.example.psso`` and
``_computerlevel[1]      payload[1] type  = com.apple.extensiblesso`` (a user's profiles carry the user's name in
place of ``_computerlevel``); the last line counts them. Spacing around ``=`` varies, so it is not relied on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXTENSIBLE_SSO = "com.apple.extensiblesso"

_ATTR = re.compile(r"^(?P<scope>\S+)\[(?P<n>\d+)\]\s+attribute:\s*(?P<key>[^:]+?)\s*:\s?(?P<value>.*?)\s*$")
_PAYLOAD = re.compile(r"^(?P<scope>\S+)\[(?P<n>\d+)\]\s+payload\[(?P<p>\d+)\]\s+(?P<key>\w+)\s*=\s?(?P<value>.*?)\s*$")
_COUNT = re.compile(r"^There (?:are|is) (?P<n>no|\d+) configuration profiles? installed\s*$", re.M)


@dataclass(frozen=True)
class Payload:
    type: str | None
    identifier: str | None
    name: str | None


@dataclass(frozen=True)
class ConfigProfile:
    scope: str  # "_computerlevel" or a user's short name
    identifier: str | None
    name: str | None
    payloads: tuple[Payload, ...]

    @property
    def payload_types(self) -> tuple[str, ...]:
        return tuple(p.type for p in self.payloads if p.type)


def parse_profiles_show(text: str) -> tuple[ConfigProfile, ...]:
    """The profiles, in the order printed. ValueError for text with neither profile lines nor the count line."""
    attrs: dict[tuple[str, int], dict[str, str]] = {}
    payloads: dict[tuple[str, int], dict[int, dict[str, str]]] = {}
    for line in (text or "").splitlines():
        if m := _PAYLOAD.match(line):
            key = (m.group("scope"), int(m.group("n")))
            attrs.setdefault(key, {})
            payloads.setdefault(key, {}).setdefault(int(m.group("p")), {}).setdefault(m.group("key"), m.group("value"))
        elif m := _ATTR.match(line):
            attrs.setdefault((m.group("scope"), int(m.group("n"))), {}).setdefault(m.group("key"), m.group("value"))
    if not attrs and not _COUNT.search(text or ""):
        raise ValueError("profiles: not the output of `profiles show -type configuration`")
    found = []
    for key, values in attrs.items():
        items = payloads.get(key, {})
        found.append(
            ConfigProfile(
                scope=key[0],
                identifier=values.get("profileIdentifier"),
                name=values.get("name"),
                payloads=tuple(Payload(p.get("type"), p.get("identifier"), p.get("name")) for _, p in sorted(items.items())),
            )
        )
    return tuple(found)

"""A simulated Mac: a directory tree that mirrors a Mac's file system plus fake macOS tools inside it.

Public API (loaded lazily so that the fake executables, which import ``cleanup.lab.simmac.fakes``,
start fast):

- ``create_sim_mac(root, users=None, scenario="default", logged_out=None) -> dict``
- ``SCENARIOS`` -- the scenario names
- ``tree_manifest(root)``, ``tree_digest(root)``, ``diff_manifests(before, after)``
- ``load_state(root)``, ``save_state(root, state)``
"""

__all__ = [
    "SCENARIOS",
    "create_sim_mac",
    "diff_manifests",
    "load_state",
    "save_state",
    "tree_digest",
    "tree_manifest",
]

_WHERE = {
    "SCENARIOS": "builder",
    "create_sim_mac": "builder",
    "tree_manifest": "snapshot",
    "tree_digest": "snapshot",
    "diff_manifests": "snapshot",
    "load_state": "common",
    "save_state": "common",
}


def __getattr__(name):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value

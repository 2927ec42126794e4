"""A playbook of one step naming a test's own action, and registering that action for the test's duration."""

from __future__ import annotations

import contextlib

from cleanup.engine import action as engine_action


@contextlib.contextmanager
def _registered(cls):
    engine_action.register(cls)
    try:
        yield cls
    finally:
        engine_action._REGISTRY.pop(cls.name, None)


def _one_step_run(make_mac, store, cls):
    from cleanup.engine.context import RunOptions
    from cleanup.engine.loader import parse_playbook
    from cleanup.engine.runner import Runner
    from cleanup.hosts import open_host

    text = (
        f'[playbook]\nname = "one"\n\n[[steps]]\nid = "only"\nnumber = 1\ntitle = "one step"\n'
        f'action = "{cls.name}"\nacts_on = "operator"\ndestructive = false\n'
    )
    return Runner(store, open_host(f"sim:{make_mac(logged_out=[])}"), parse_playbook(text, "one.toml"), RunOptions(yes=True))

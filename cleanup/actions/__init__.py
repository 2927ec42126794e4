"""The actions, one module per family. Importing this package imports every module in it, and each action
class registers itself with the engine (``@register``; ``cleanup.engine.action.registry()``); the CLI does it
once. Adding an action is one new module here plus its line in a playbook."""

from __future__ import annotations

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

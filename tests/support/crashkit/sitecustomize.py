"""Test-only crash injection: loaded into the product process through PYTHONPATH, never part of the product.

``CRASHKIT=<mode>:<n>:<counter file>`` SIGKILLs the process at the n-th event of a kind, counted across
every process that shares the counter file (a run and its resumes):

- ``save-before`` / ``save-after``: just before / right after the n-th checkpoint write (os.replace onto state.json)
- ``change-before`` / ``change-after``: just before the n-th destructive operation (a delete/remove command
  or a file removal), or after it took effect but before its result reaches the audit log
- ``count``: only count; the counter file then holds the totals and a description of each destructive operation
- ``snap``: count as ``count`` does, and at each point where one of the four modes above would kill, copy the
  folders named in ``CRASHKIT_SNAP`` (``<snapshot dir>|<folder>|<folder>...``) to ``<snapshot dir>/<mode>-<n>``:
  what a SIGKILL at that point would leave on disk, so a test can resume from it without replaying the prefix
"""

import importlib.util
import json
import os
import signal
import sys


def _copy_tree(src: str, dest: str) -> None:
    # tests/support/treecopy.py, loaded by path: this process has the crash kit's folder on its path, not the repository
    spec = importlib.util.spec_from_file_location("treecopy", os.path.join(os.path.dirname(__file__), os.pardir, "treecopy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.copy_tree(src, dest)


_spec = os.environ.get("CRASHKIT")
DESTRUCTIVE_WORDS = (
    "delete-generic-password",
    "delete-internet-password",
    "delete-certificate",
    "delete-identity",
    "set-identity-preference",
    "removeMdmProfile",
    "removeFramework",
    "--forget",
)
DESTRUCTIVE_TOOLS = ("/sbin/shutdown", "/usr/bin/killall")


def _install(spec: str) -> None:
    mode, n, path = spec.split(":", 2)
    n = int(n)
    busy = False
    armed = False
    after: list[tuple[str, int]] = []  # snap mode: the "-after" points waiting for their event
    snap_to, *snap_dirs = (os.environ.get("CRASHKIT_SNAP") or "").split("|") if mode == "snap" else ("",)

    def snapshot(name, n):
        dest = os.path.join(snap_to, f"{name}-{n}")
        for d in snap_dirs:
            if os.path.lexists(d):
                _copy_tree(d, os.path.join(dest, os.path.basename(d)))

    def load():
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"saves": 0, "changes": 0, "fired": False, "log": []}

    def store(data):
        with open(path + ".tmp", "w") as f:
            json.dump(data, f)
        os.rename(path + ".tmp", path)

    def die():
        data = load()
        data["fired"] = True
        store(data)
        os.kill(os.getpid(), signal.SIGKILL)

    def destructive(event, args):
        if event == "subprocess.Popen":
            argv = [str(a) for a in (args[1] or [])]
            if any(w in argv for w in DESTRUCTIVE_WORDS) or (argv and argv[0].endswith(DESTRUCTIVE_TOOLS)):
                tool = next((t for t in DESTRUCTIVE_TOOLS if argv and argv[0].endswith(t)), None)
                return tool or " ".join(a for a in argv if a.startswith("delete") or a in DESTRUCTIVE_WORDS)
        if event in ("os.remove", "os.rmdir"):
            return f"{event} {args[0]}"
        return None

    def hook(event, args):
        nonlocal busy, armed
        if busy:
            return
        if event not in ("os.rename", "subprocess.Popen", "os.remove", "os.rmdir", "open"):
            return
        busy = True
        try:
            if after:
                audit_open = event == "open" and str(args[0]).endswith("audit.jsonl")
                for pending in list(after):
                    if pending[0] == "save-after" or audit_open:
                        snapshot(*pending)
                        after.remove(pending)
            if armed:
                if mode == "save-after" or (event == "open" and str(args[0]).endswith("audit.jsonl")):
                    die()
                return
            if event == "open":
                return
            is_save = event == "os.rename" and str(args[1]).endswith("state.json")
            what = None if is_save else destructive(event, args)
            if not is_save and what is None:
                return
            data = load()
            if data["fired"]:
                return
            kind = "saves" if is_save else "changes"
            data[kind] += 1
            if mode in ("count", "snap"):
                if what:
                    data["log"].append(what)
                store(data)
                if mode == "snap":
                    side = "save" if is_save else "change"
                    snapshot(f"{side}-before", data[kind])
                    after.append((f"{side}-after", data[kind]))
                return
            store(data)
            if data[kind] == n and mode.startswith("save" if is_save else "change"):
                if mode.endswith("before"):
                    die()
                armed = True
        finally:
            busy = False

    sys.addaudithook(hook)


if _spec:
    _install(_spec)

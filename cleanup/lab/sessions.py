"""Log users in and out of a simulated Mac (a logged-out user's login keychain is locked)."""

from __future__ import annotations

from pathlib import Path

from cleanup.lab.simmac import common


def set_logged_in(root: Path, user: str, on: bool) -> None:
    where = str(root)
    state = common.load_state(where)
    if common.user_by_name(common.load_users(where), user) is None:
        raise ValueError(f"the simulated Mac in {root} has no user {user!r}")
    logged = [u for u in state.get("logged_in", []) if u != user]
    if on:
        logged.append(user)
    state["logged_in"] = logged
    if state.get("console_user") is None and on:
        state["console_user"] = user
    if state.get("console_user") == user and not on:
        state["console_user"] = next(iter(logged), None)
    common.save_state(where, state)

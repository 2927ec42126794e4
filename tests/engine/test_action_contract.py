"""The engine knows no concrete action: actions register and declare what they are; no action's name is written
outside its own module; a declaration that contradicts itself, or a pause an action did not declare, is refused."""

import ast
from pathlib import Path

import pytest

from cleanup.engine import action as engine_action
from cleanup.engine.action import Action, ActsOn, Outcome, Pause, PauseKind, registry
from cleanup.engine.plan import Change, StepPlan
from cleanup.engine.runner import Selection
from cleanup.errors import Paused
from tests.support.imports import module_imports
from tests.support.oneaction import _one_step_run, _registered

PACKAGE = Path(__file__).resolve().parents[2] / "cleanup"


_imports = module_imports


def test_the_engine_imports_nothing_from_the_actions():
    for path in (PACKAGE / "engine").glob("*.py"):
        bad = sorted(m for m in _imports(path) if m == "cleanup.actions" or m.startswith("cleanup.actions."))
        assert not bad, f"{path.name} imports {bad}"


def test_actions_import_only_engine_hosts_clients_parsers_errors():
    allowed = (
        "cleanup.engine",
        "cleanup.hosts",
        "cleanup.clients",
        "cleanup.parsers",
        "cleanup.errors",
        "cleanup.identifiers",
        "cleanup.actions",
        "cleanup.readlimit",
        "cleanup.selfexec",
    )
    for path in (PACKAGE / "actions").glob("*.py"):
        bad = sorted(m for m in _imports(path) if m.startswith("cleanup") and not m.startswith(allowed))
        assert not bad, f"{path.name} imports {bad}"


def _string_constants(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_no_action_name_is_written_outside_its_own_module():
    own = {name: Path(type(a).__module__.replace(".", "/") + ".py").name for name, a in registry().items()}
    for path in PACKAGE.rglob("*.py"):
        if "lab" in path.relative_to(PACKAGE).parts:
            continue  # the lab is a user of the product, as a playbook is
        strings = _string_constants(path)
        for name, module in own.items():
            if name in strings and not (path.parent.name == "actions" and path.name == module):
                pytest.fail(f"{path.relative_to(PACKAGE)} names the action {name!r} (it belongs in actions/{module})")


def test_every_action_declares_its_nature():
    for name, a in registry().items():
        assert a.name == name and a.summary
        assert a.acts_on in tuple(ActsOn)
        assert not (a.read_only and a.destructive)
        assert all(k in tuple(PauseKind) for k in a.pauses)
        assert all(p.startswith(("jamf:", "graph:")) for p in a.needs_read + a.needs_write)


def test_every_deleting_action_is_destructive_and_every_cloud_delete_declares_its_permission():
    for a in registry().values():
        if a.needs_write:
            assert a.destructive and a.acts_on == ActsOn.CLOUD, a.name


@pytest.mark.parametrize(
    "attrs, problem",
    [
        ({"read_only": True, "destructive": True}, "neither destructive nor pausing"),
        ({"acts_on": ActsOn.DEVICE, "needs_write": ("graph:delete-devices",)}, "only a cloud action"),
        ({"summary": ""}, "needs a name and a summary"),
    ],
)
def test_a_contradictory_declaration_is_refused_at_registration(attrs, problem):
    cls = type("Odd", (Action,), {"name": "test.odd", "summary": "odd", **attrs})
    with pytest.raises(TypeError, match=problem):
        engine_action.register(cls)
    assert "test.odd" not in registry()


def _action(name, *, results=(), pause=None, declared=frozenset()):
    """An operator action that plans one change per result, applies them as given, then returns ``pause``."""

    class Fixed(Action):
        summary = "applies fixed outcomes, then pauses as told"
        acts_on = ActsOn.OPERATOR
        pauses = declared

        def plan(self, ctx, step):
            return StepPlan(changes=[Change(f"k{n}", "write-file", f"target {n}") for n in range(len(results))])

        def apply(self, ctx, step, change):
            return results[int(change.key[1:])]

        def finish(self, ctx, step, plan):
            return pause

    Fixed.name = name
    return Fixed


def test_a_pause_the_action_did_not_declare_stops_the_runner(make_mac, store):
    cls = _action("test.sneaky", pause=Pause("restarting, says who", PauseKind.RESTART), declared=frozenset({PauseKind.WAIT}))
    with _registered(cls), pytest.raises(RuntimeError, match="does not declare"):
        _one_step_run(make_mac, store, cls).start(Selection())


def test_paused_carries_the_pause_of_the_step(make_mac, store):
    pause = Pause("waiting until noon", PauseKind.WAIT, not_before=1234567890.0)
    cls = _action("test.waits", pause=pause, declared=frozenset({PauseKind.WAIT}))
    with _registered(cls), pytest.raises(Paused) as stop:
        _one_step_run(make_mac, store, cls).start(Selection())
    assert stop.value.pause == pause


def test_a_change_counts_by_its_outcome_not_by_the_words_of_its_text(make_mac, store):
    cls = _action("test.outcomes", results=[Outcome.done("already-looking text, but it was done"), Outcome.unchanged("removed (it was not there)")])
    with _registered(cls):
        runner = _one_step_run(make_mac, store, cls)
        run = runner.start(Selection())
    results = [r for r in runner._audit(run).records() if r.get("event") == "result"]
    assert [(r["result"], r["changed"]) for r in results] == [("already-looking text, but it was done", True), ("removed (it was not there)", False)]
    assert run.step("only").outcome == "1 change(s) applied"


def test_an_action_that_returns_text_instead_of_an_outcome_is_a_bug_the_runner_names(make_mac, store):
    cls = _action("test.text", results=["removed"])
    with _registered(cls), pytest.raises(RuntimeError, match="not an Outcome"):
        _one_step_run(make_mac, store, cls).start(Selection())

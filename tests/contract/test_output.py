"""cli/output in-process: the failure envelope ``main`` prints, once, and as a line for a stream."""

from __future__ import annotations

import json
from types import SimpleNamespace

from cleanup.cli import output
from cleanup.errors import Paused, UsageError


def _json_mode(command_path: str) -> output.Reply:
    r = output.begin()
    output.use_json(SimpleNamespace(command_path=command_path), True)
    return r


def test_a_failure_carries_the_partial_data_and_the_error(capsys):
    r = _json_mode("cleanup creds test")
    output.partial({"run_possible": False})
    output.answer_error(r, UsageError("bad", "try this"), 2)
    env = json.loads(capsys.readouterr().out)
    assert env == {
        "schema_version": 1,
        "command": "creds test",
        "exit_code": 2,
        "data": {"run_possible": False},
        "errors": [{"type": "UsageError", "message": "bad", "hint": "try this"}],
    }


def test_an_answered_command_is_not_answered_twice(capsys):
    r = _json_mode("cleanup plan")
    output.answer({"steps": []}, exit_code=0)
    output.answer_error(r, Paused("later"), 3)
    env = json.loads(capsys.readouterr().out)  # one document: json.loads refuses a second
    assert env["exit_code"] == 0 and "errors" not in env


def test_a_stream_ends_with_the_failure_line(capsys):
    r = _json_mode("cleanup batch run")
    output.line({"event": "mac"})
    output.partial({"event": "summary"})
    output.answer_error(r, Paused("waiting"), 3)
    first, last = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["exit_code"] == 0 and "errors" not in first and first["command"] == "batch run"
    assert last["exit_code"] == 3 and last["data"] == {"event": "summary"} and last["errors"][0]["type"] == "Paused"


def test_text_mode_prints_no_envelope(capsys):
    r = output.begin()
    output.answer_error(r, UsageError("bad"), 2)
    assert capsys.readouterr().out == ""

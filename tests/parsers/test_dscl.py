import pytest


def test_attribute_list_keeps_spaces_in_values():
    from cleanup.parsers.dscl import parse_attribute_list

    text = "_www                    /Library/WebServer\nalice                   /Users/alice\nsam   /Users/Sam Home\n\n"
    assert parse_attribute_list(text) == {"_www": "/Library/WebServer", "alice": "/Users/alice", "sam": "/Users/Sam Home"}
    with pytest.raises(ValueError):
        parse_attribute_list("lonely\n")

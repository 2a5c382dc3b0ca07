"""match / if_exp compile into clauses with one indexable key, and refuse what they can't read."""

import pytest

from supportdesk.durable.expressions import (
    ExpressionError,
    compile_conditions,
    evaluate,
    event_match_keys,
    match_key,
)

TRIGGER = {"name": "app/support.ticket.created", "data": {"ticketId": 5, "org": "acme"}}


def test_match_compares_the_same_path_of_both_events():
    compiled = compile_conditions(trigger_event=TRIGGER, match="data.ticketId")
    clauses = compiled.clauses
    assert compiled.match_path == "data.ticketId"
    assert compiled.match_key == match_key("data.ticketId", 5)
    assert evaluate(clauses, {"data": {"ticketId": 5}})
    assert not evaluate(clauses, {"data": {"ticketId": "5"}})  # types matter, as in JSON
    assert not evaluate(clauses, {"data": {}})


def test_if_exp_joins_comparisons_over_event_async_and_literals():
    compiled = compile_conditions(
        trigger_event=TRIGGER,
        if_exp="async.data.questionId == 'q-1' && event.data.ticketId == async.data.ticketId "
        '&& async.data.kind != "spam" && async.data.urgent == true && 1 == 1',
    )
    clauses = compiled.clauses
    assert compiled.match_path == "data.questionId"
    good = {"data": {"questionId": "q-1", "ticketId": 5, "kind": "answer", "urgent": True}}
    assert evaluate(clauses, good)
    assert not evaluate(clauses, {"data": {**good["data"], "kind": "spam"}})
    assert not evaluate(clauses, {"data": {**good["data"], "ticketId": 6}})


def test_comparisons_between_two_incoming_paths_are_evaluated_on_arrival():
    compiled = compile_conditions(
        trigger_event=TRIGGER, if_exp="async.data.a == async.data.b && async.data.n == 2.5"
    )
    clauses = compiled.clauses
    assert compiled.match_key == match_key("data.n", 2.5)
    assert evaluate(clauses, {"data": {"a": [1], "b": [1], "n": 2.5}})
    assert not evaluate(clauses, {"data": {"a": 1, "b": 2, "n": 2.5}})


def test_a_false_constant_clause_never_matches():
    compiled = compile_conditions(trigger_event=TRIGGER, if_exp="event.data.org == 'other'")
    assert not evaluate(compiled.clauses, {"data": {}})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"if_exp": "async.data.x =="}, "expected `a == b`"),
        ({"if_exp": "async.data.x = 1"}, "cannot read"),
        ({"if_exp": "async.data.x == 1 &&"}, "ends with &&"),
        ({"if_exp": "async.data.x == 1 || async.data.y == 2"}, "cannot read"),
        ({"match": "data ticketId"}, "dotted path"),
        ({"match": "data.x", "if_exp": "async.data.x == 1"}, "either match or if_exp"),
    ],
)
def test_unreadable_expressions_are_refused_clearly(kwargs, message):
    with pytest.raises(ExpressionError, match=message):
        compile_conditions(trigger_event=TRIGGER, **kwargs)


def test_an_event_offers_a_key_for_each_path_waits_are_indexed_by():
    event = {"id": "e1", "data": {"ticketId": 5, "meta": {"by": "ann"}, "tags": ["a"]}}
    keys = event_match_keys(event, ["data.ticketId", "data.tags", "data.meta", "id", "data.nope"])
    assert keys == [
        match_key("data.ticketId", 5), match_key("data.tags", ["a"]),
        match_key("data.meta", {"by": "ann"}), match_key("id", "e1"),
    ]  # fmt: skip


def test_numbers_compare_as_json_numbers():
    """`7` and `7.0` are one value (as in Inngest's expressions); `"7"` is another."""
    compiled = compile_conditions(trigger_event={"data": {"n": 7}}, match="data.n")
    assert evaluate(compiled.clauses, {"data": {"n": 7.0}})
    assert not evaluate(compiled.clauses, {"data": {"n": "7"}})
    assert match_key("data.n", 7.0) == compiled.match_key
    nested = compile_conditions(trigger_event={}, if_exp="async.data.v == async.data.w")
    assert evaluate(nested.clauses, {"data": {"v": {"a": [1, 2.0]}, "w": {"a": [1.0, 2]}}})


def test_keys_have_one_length_whatever_the_value():
    """PostgreSQL refused a 600-character ticket id as a key (varchar 512); SQLite stored it."""
    assert len(match_key("data.ticketId", "x" * 600)) == len(match_key("data.a", 1)) == 64


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'a\"b'", 'a"b'),
        (r'"a\"b"', 'a"b'),
        (r"'C:\\path'", "C:\\path"),
        (r"'it\'s'", "it's"),
        (r"'tab\there'", "tab\there"),
        (r"'\u00e9t\u00e9'", "été"),
    ],
)
def test_string_literals_decode_their_escapes(literal, value):
    compiled = compile_conditions(trigger_event={}, if_exp=f"async.data.s == {literal}")
    assert compiled.clauses == [{"path": "data.s", "op": "==", "value": value}]


def test_an_unknown_escape_is_an_expression_error_that_names_it():
    with pytest.raises(ExpressionError, match=r"unknown escape \\p in the string 'C:\\path'"):
        compile_conditions(trigger_event={}, if_exp=r"async.data.s == 'C:\path'")

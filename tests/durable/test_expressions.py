"""match / if_exp compile into clauses with one indexable key, and refuse what they can't read."""

import pytest

from supportdesk.durable.expressions import (
    ExpressionError,
    compile_conditions,
    evaluate,
    event_match_keys,
)

TRIGGER = {"name": "app/support.ticket.created", "data": {"ticketId": 5, "org": "acme"}}


def test_match_compares_the_same_path_of_both_events():
    clauses, key = compile_conditions(trigger_event=TRIGGER, match="data.ticketId")
    assert key == "data.ticketId=5"
    assert evaluate(clauses, {"data": {"ticketId": 5}})
    assert not evaluate(clauses, {"data": {"ticketId": "5"}})  # types matter, as in JSON
    assert not evaluate(clauses, {"data": {}})


def test_if_exp_joins_comparisons_over_event_async_and_literals():
    clauses, key = compile_conditions(
        trigger_event=TRIGGER,
        if_exp="async.data.questionId == 'q-1' && event.data.ticketId == async.data.ticketId "
        '&& async.data.kind != "spam" && async.data.urgent == true && 1 == 1',
    )
    assert key == 'data.questionId="q-1"'
    good = {"data": {"questionId": "q-1", "ticketId": 5, "kind": "answer", "urgent": True}}
    assert evaluate(clauses, good)
    assert not evaluate(clauses, {"data": {**good["data"], "kind": "spam"}})
    assert not evaluate(clauses, {"data": {**good["data"], "ticketId": 6}})


def test_comparisons_between_two_incoming_paths_are_evaluated_on_arrival():
    clauses, key = compile_conditions(
        trigger_event=TRIGGER, if_exp="async.data.a == async.data.b && async.data.n == 2.5"
    )
    assert key == "data.n=2.5"
    assert evaluate(clauses, {"data": {"a": [1], "b": [1], "n": 2.5}})
    assert not evaluate(clauses, {"data": {"a": 1, "b": 2, "n": 2.5}})


def test_a_false_constant_clause_never_matches():
    clauses, _ = compile_conditions(trigger_event=TRIGGER, if_exp="event.data.org == 'other'")
    assert not evaluate(clauses, {"data": {}})


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


def test_incoming_events_offer_one_key_per_scalar_leaf():
    keys = event_match_keys({"data": {"ticketId": 5, "meta": {"by": "ann"}, "tags": ["a"]}})
    assert sorted(keys) == ['data.meta.by="ann"', "data.ticketId=5"]

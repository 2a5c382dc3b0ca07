"""The match index finds a wait exactly when its expression is true of the event.

The index was stricter than the expression: an event satisfying every clause never reached its
wait when its data had more than 256 leaves, when the compared value was a list or an object, or
when the path was top-level (`async.id`). Generated events and expressions of the whole language
(`==`/`!=` over `event.`/`async.` paths and literals, joined by `&&`) check it.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportdesk.durable.events import waits_matching
from supportdesk.durable.expressions import canonical, compile_conditions, evaluate
from supportdesk.durable.models import Event, Run, Wait

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

KEYS = ["a", "b", "id"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([0.0, 1.0, 1.5, -2.0]),  # 1.0 is 1: numbers compare as numbers
    st.sampled_from(["", "x", "y", "1", "it's", 'say "hi"', "C:\\path"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)
paths = st.lists(st.sampled_from(KEYS), min_size=0, max_size=3).map(
    lambda parts: ".".join(["data", *parts])
) | st.sampled_from(["id", "name", "ts"])
events = st.fixed_dictionaries({
    "id": st.sampled_from(["e1", "e2"]),
    "name": st.just("test/prop"),
    "data": st.dictionaries(st.sampled_from(KEYS), values, max_size=3),
    "ts": st.sampled_from([0, 1]),
})  # fmt: skip


def literal(value) -> str:
    """An if_exp literal: scalars only, as the language has them."""
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    return canonical(value)


operands = st.one_of(
    paths.map(lambda path: f"async.{path}"),
    paths.map(lambda path: f"event.{path}"),  # resolved against the trigger: any JSON value
    scalars.map(literal),
)
clauses = st.tuples(operands, st.sampled_from(["==", "!="]), operands).map(" ".join)
expressions = st.lists(clauses, min_size=1, max_size=3).map(" && ".join)


@pytest.fixture
def run_to_wait_on(transactional_db):
    event = Event.objects.create(event_id="trigger", tenant="p", name="test/trigger", data={}, ts=0)
    return Run.objects.create(function_id="test-prop", event=event, tenant="p")


@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])  # fmt: skip
@given(trigger=events, waits=st.lists(expressions, min_size=1, max_size=4), event=events)
def test_the_index_finds_a_wait_exactly_when_its_expression_holds(
    run_to_wait_on, trigger, waits, event
):
    compiled = [compile_conditions(trigger_event=trigger, if_exp=text) for text in waits]
    created = Wait.objects.bulk_create(
        Wait(run=run_to_wait_on, tenant="p", event_name="test/prop", conditions=c.clauses,
             match_path=c.match_path, match_key=c.match_key, expression=text)
        for c, text in zip(compiled, waits, strict=True)
    )  # fmt: skip
    try:
        found = {wait.expression for wait in waits_matching("p", "test/prop", event)}
        true = {wait.expression for wait in created if evaluate(wait.conditions, event)}
        assert found == true
    finally:
        Wait.objects.filter(run=run_to_wait_on).delete()


def test_a_deep_and_wide_event_still_reaches_its_wait(run_to_wait_on):
    """Over 256 leaves walked before the key, a list value, an object value, a top-level path:
    each was missed by the old index."""
    data = {f"k{n}": n for n in range(400)} | {"z": {"tags": ["a", "b"], "who": {"id": 7}}}
    event = {"id": "evt-9", "name": "test/prop", "data": data, "ts": 5}
    expressions = {
        "async.data.k399 == 399",
        "async.data.z.tags == event.data.tags",
        "async.data.z.who == event.data.who",
        "async.id == 'evt-9'",
    }
    trigger = {"data": {"tags": ["a", "b"], "who": {"id": 7.0}}}
    for text in expressions:
        compiled = compile_conditions(trigger_event=trigger, if_exp=text)
        Wait.objects.create(run=run_to_wait_on, tenant="p", event_name="test/prop",
                            conditions=compiled.clauses, match_path=compiled.match_path,
                            match_key=compiled.match_key, expression=text)  # fmt: skip
    assert {w.expression for w in waits_matching("p", "test/prop", event)} == expressions

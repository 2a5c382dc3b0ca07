from datetime import timedelta

import pytest
from pydantic import BaseModel

from agents import InlineStep, parse_duration
from agents.testing import ReplayStep, Suspended


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10s", 10),
        ("30m", 1800),
        ("4h", 14400),
        ("1d", 86400),
        ("1h30m", 5400),
        (" 2m5s ", 125),
        (2.5, 2.5),
        (7, 7),
        (timedelta(minutes=3), 180),
    ],
)
def test_parse_duration(value, seconds):
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["", "4x", "h", "30", "1.5h", "-1s", "1h 30m", -3, True, None])
def test_parse_duration_rejects_bad_values(value):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


class Point(BaseModel):
    x: int


def test_inline_run_returns_the_json_form_of_the_result():
    step = InlineStep()
    result = step.run("s", lambda a, b: {"point": Point(x=a), "pair": (a, b)}, 1, b=2)
    assert result == {"point": {"x": 1}, "pair": [1, 2]}


def test_inline_run_rejects_results_json_cannot_hold():
    with pytest.raises(TypeError, match="JSON-serializable"):
        InlineStep().run("s", lambda: {1, 2})


def test_inline_wait_without_events_times_out_after_registering():
    registered = []
    result = InlineStep().wait_for_event(
        "w", event="e", timeout="1h", on_register=lambda: registered.append(True)
    )
    assert result is None
    assert registered == [True]


def test_inline_wait_takes_queued_events_in_order_and_completes_their_shape():
    step = InlineStep([{"data": {"n": 1}}, {"id": "x", "name": "other", "data": {"n": 2}}])
    first = step.wait_for_event("w", event="app/e", timeout=5)
    second = step.wait_for_event("w", event="app/e", timeout=5)
    assert first["name"] == "app/e" and first["data"] == {"n": 1} and first["id"]
    assert isinstance(first["ts"], int)
    assert (second["id"], second["name"]) == ("x", "other")
    assert step.wait_for_event("w", event="app/e", timeout=5) is None


def test_inline_wait_asks_a_callable_with_the_event_name():
    step = InlineStep(lambda name: {"data": {"asked": name}})
    assert step.wait_for_event("w", event="app/q", timeout="1m")["data"] == {"asked": "app/q"}


def test_inline_wait_rejects_a_bad_timeout():
    with pytest.raises(ValueError, match="invalid duration"):
        InlineStep().wait_for_event("w", event="e", timeout="soon")


def test_inline_send_event_records_events_and_returns_ids():
    step = InlineStep()
    ids = step.send_event("s", [{"name": "a", "data": {}}, {"id": "mine", "name": "b"}])
    assert ids[1] == "mine" and ids[0] != "mine"
    assert [e["name"] for e in step.sent] == ["a", "b"]
    with pytest.raises(ValueError, match="needs a name"):
        step.send_event("s", {"data": {}})


def test_replay_step_memoizes_auto_indexed_ids():
    calls = []
    step = ReplayStep()

    def work(n):
        calls.append(n)
        return n * 10

    assert [step.run("a", work, 1), step.run("a", work, 2)] == [10, 20]
    step.replay()
    assert [step.run("a", work, 99), step.run("a", work, 99)] == [10, 20]
    assert calls == [1, 2]
    assert step.executed == [("a", "run"), ("a:1", "run")]


def test_replay_step_suspends_a_wait_until_an_event_arrives():
    step = ReplayStep()
    registered = []

    def wait():
        return step.wait_for_event(
            "w", event="app/answer", timeout="4h", on_register=lambda: registered.append(1)
        )

    with pytest.raises(Suspended):
        wait()
    step.deliver({"name": "app/other"})
    with pytest.raises(Suspended):
        step.replay() and wait()
    step.deliver({"name": "app/answer", "data": {"answer": 42}})
    assert step.replay() and wait()["data"] == {"answer": 42}
    assert step.replay() and wait()["data"] == {"answer": 42}
    assert registered == [1]


def test_replay_step_wait_returns_none_once_expired():
    step = ReplayStep()
    with pytest.raises(Suspended):
        step.wait_for_event("w", event="e", timeout=1)
    step.expire()
    assert step.replay().wait_for_event("w", event="e", timeout=1) is None


def test_replay_step_sends_an_event_once_across_replays():
    step = ReplayStep()
    ids = step.send_event("notify", {"name": "app/ticket.replied", "data": {"ticketId": 1}})
    assert step.replay().send_event("notify", {"name": "app/ticket.replied"}) == ids
    assert [(e["name"], e["data"]) for e in step.sent] == [("app/ticket.replied", {"ticketId": 1})]


def test_step_ids_are_unique_for_every_sequence_of_caller_ids():
    from agents.step import StepIds

    ids = StepIds()
    keys = [ids.key(i) for i in ["fetch", "fetch", "fetch:1", "fetch:1", "fetch", "fetch:2"]]
    assert keys == ["fetch", "fetch:1", "fetch:1:1", "fetch:1:2", "fetch:2", "fetch:2:1"]
    again = StepIds()
    sequence = ["fetch", "fetch", "fetch:1", "fetch:1", "fetch", "fetch:2"]
    assert [again.key(step_id) for step_id in sequence] == keys


@pytest.mark.parametrize("duration", [10**20, float("inf"), "100000000d", timedelta(days=400)])
def test_durations_beyond_a_year_are_refused_clearly(duration):
    with pytest.raises(ValueError, match="at most 366 days"):
        parse_duration(duration)

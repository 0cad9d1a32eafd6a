"""The ``events:`` section: off by default, bounded as SQS bounds it, one line when wrong."""

from __future__ import annotations

import pytest

from scanner.daemon.config import from_mapping
from scanner.errors import ConfigError

QUEUE = "https://sqs.us-east-1.amazonaws.com/111111111111/scanner-events"


def test_events_are_off_by_default_with_sqs_defaults() -> None:
    events = from_mapping({}, {}).events
    assert not events.enabled
    assert (events.batch_size, events.wait_seconds, events.debounce) == (10, 20, 2.0)


def test_the_environment_turns_events_on() -> None:
    environ = {
        "SCANNER_EVENTS_ENABLED": "true",
        "SCANNER_EVENTS_QUEUE_URLS": QUEUE,
        "SCANNER_EVENTS_DEBOUNCE": "500ms",
    }
    events = from_mapping({}, environ).events
    assert events.enabled and events.queue_urls == (QUEUE,) and events.debounce == 0.5


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ({"batch_size": 11}, "events.batch_size: must be 1-10"),
        ({"wait_seconds": 0}, "events.wait_seconds: must be 1-20"),
        ({"queue_urls": ["sqs://queue"]}, "not a valid http(s) URL"),
        ({"enabled": True}, "events.enabled needs at least one queue URL"),
        ({"debounce": "soon"}, "events.debounce"),
    ],
)
def test_bad_event_settings_are_one_line(events: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        from_mapping({"events": events}, {})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_several_queues_are_one_per_shard() -> None:
    with pytest.raises(ConfigError, match="one queue for every shard"):
        from_mapping(
            {"events": {"queue_urls": [QUEUE, QUEUE + "-1"]}, "sharding": {"total_shards": 3}}, {}
        )
    config = from_mapping(
        {"events": {"queue_urls": [QUEUE, QUEUE + "-1"]}, "sharding": {"total_shards": 2}}, {}
    )
    assert len(config.events.queue_urls) == 2

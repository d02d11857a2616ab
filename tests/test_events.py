"""The event broker on its own: named channels, bounded queues that drop the oldest event, the last event kept
for late subscribers, bounded subscribers, and streams that end when the broker closes."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kb.runtime import EventBroker, EventsError
from tests.conftest import run_coroutine as run


def test_a_subscriber_gets_only_its_channels_in_order() -> None:
    async def main() -> list[str]:
        broker = EventBroker()
        with broker.subscribe(["builds"]) as sub:
            broker.publish("present:room1", "slide", {"n": 1})
            broker.publish("builds", "build", {"build": "a"})
            broker.publish("builds", "build", {"build": "b"})
            broker.close()
            return [e.data["build"] async for e in sub]

    assert run(main()) == ["a", "b"]


def test_a_slow_subscriber_loses_the_oldest_events_not_the_newest() -> None:
    async def main() -> tuple[list[int], int]:
        broker = EventBroker(queue_size=3)
        with broker.subscribe(["present:x"]) as sub:
            for n in range(10):
                broker.publish("present:x", "slide", {"n": n})
            await asyncio.sleep(0)  # deliveries are scheduled on this loop
            broker.close()
            return [e.data["n"] async for e in sub if e.name == "slide"], sub.dropped

    got, dropped = run(main())
    assert got[-1] == 9 and len(got) <= 3 and dropped >= 7


def test_publishing_from_another_thread_reaches_the_loop() -> None:
    async def main() -> str:
        broker = EventBroker()
        with broker.subscribe(["builds"]) as sub:
            threading.Thread(target=broker.publish, args=("builds", "build", {"build": "t"})).start()
            async for event in sub:
                return event.data["build"]
        return ""

    assert run(main()) == "t"


def test_the_last_event_of_a_channel_is_kept_for_late_subscribers() -> None:
    broker = EventBroker()
    broker.publish("present:abc", "slide", {"n": 4})
    broker.publish("present:abc", "slide", {"n": 5})
    assert broker.last("present:abc").data == {"n": 5} and broker.last("builds") is None


@pytest.mark.parametrize("name", ["", "other", "present:", "present:a b", "present:" + "x" * 65, "builds\n"])
def test_unknown_channels_are_refused(name: str) -> None:
    with pytest.raises(EventsError):
        EventBroker().check_channel(name)


def test_subscribers_are_bounded_and_removed_when_they_leave() -> None:
    async def main() -> None:
        broker = EventBroker(max_subscribers=2)
        a, b = broker.subscribe(["builds"]), broker.subscribe(["builds"])
        with pytest.raises(EventsError, match="too many"):
            broker.subscribe(["builds"])
        a.close()
        broker.subscribe(["builds"]).close()
        b.close()
        assert broker.subscribers == 0

    run(main())

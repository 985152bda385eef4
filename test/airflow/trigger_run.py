"""
Drives ``KafkaLagTrigger.run()`` with asyncio against the real broker, as Airflow's triggerer would,
and reports each phase as one JSON line on stdout (the test produces events between phases):

1. ``quiet``: several polls of a topic with nothing pending, and no event;
2. (waits for a line on stdin: the test has produced events) ``fired``: the event and its payload;
3. ``held``: more polls while lag stays above the threshold, and no second event (not re-armed);
4. ``bad_topic``: a trigger on an unknown topic polls on without raising and without firing.

All along a ticker coroutine measures how late the event loop wakes it: a trigger that blocked the
loop (a synchronous subprocess or client call) would show up as a long gap.

usage: trigger_run.py <home> <topic> <group> <min_lag> <node>
The Kafka connection comes from ``AIRFLOW_CONN_EVENTFUL_KAFKA`` in the environment.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
import warnings

warnings.simplefilter("ignore")

# The installed package, as the triggerer imports it (scripts/airflow installs airflow/ into the venv).
from eventful_airflow.triggers import EVENT_DRIVEN_SCHEDULING, KafkaLagTrigger  # noqa: E402

POLL_S = 0.3
QUIET_POLLS = 4
HELD_POLLS = 4
FIRE_TIMEOUT_S = 60


def emit(obj):
    print(json.dumps(obj), flush=True)


def rebuilt(trigger):
    """The trigger as the triggerer gets it: from its serialized classpath and arguments."""
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(**kwargs), classpath


class Watch:
    """Runs a trigger in the background, counting its checks and collecting its events."""

    def __init__(self, trigger):
        self.trigger = trigger
        self.codes = []
        self.events = []
        original = trigger.check

        async def counted():
            result = await original()
            self.codes.append(result[0])
            return result

        trigger.check = counted
        self.task = asyncio.create_task(self._run())

    async def _run(self):
        async for event in self.trigger.run():
            self.events.append(event)

    async def until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.task.done():
                self.task.result()  # raises what the trigger raised
                raise RuntimeError("run() returned: an event trigger must poll forever")
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s; exit codes so far {self.codes}")
            await asyncio.sleep(0.05)

    async def stop(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


async def ticker(gaps):
    """Wakes every 10 ms and records how late it woke up."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.01)
        gaps.append(time.monotonic() - before - 0.01)


async def main():
    home, topic, group, min_lag, node = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    gaps = []
    tick = asyncio.create_task(ticker(gaps))
    loop = asyncio.get_running_loop()

    trigger, classpath = rebuilt(
        KafkaLagTrigger(
            topics=topic,
            group_id=group,
            home=home,
            min_lag=min_lag,
            poll_interval=POLL_S,
            rearm_after=3600,
            timeout=60,
            node=node,
        )
    )
    watch = Watch(trigger)
    await watch.until(lambda: len(watch.codes) >= QUIET_POLLS, 60)
    emit(
        {
            "phase": "quiet",
            "eventDriven": EVENT_DRIVEN_SCHEDULING,
            "classpath": classpath,
            "codes": watch.codes,
            "events": len(watch.events),
            "command": trigger.command(),
        }
    )

    # The test produces events, then writes a line. Read it off the loop's thread.
    await loop.run_in_executor(None, sys.stdin.readline)
    polls_before = len(watch.codes)
    await watch.until(lambda: watch.events, FIRE_TIMEOUT_S)
    emit({"phase": "fired", "polls": len(watch.codes) - polls_before, "payload": watch.events[0].payload})

    fired_at = len(watch.codes)
    await watch.until(lambda: len(watch.codes) >= fired_at + HELD_POLLS, 60)
    emit({"phase": "held", "codes": watch.codes[fired_at:], "events": len(watch.events)})
    await watch.stop()

    bad = Watch(
        KafkaLagTrigger(
            topics="no-such-topic-for-trigger",
            group_id=group,
            home=home,
            min_lag=1,
            poll_interval=POLL_S,
            timeout=60,
            node=node,
        )
    )
    await bad.until(lambda: len(bad.codes) >= 2, 60)
    emit({"phase": "bad_topic", "codes": bad.codes, "events": len(bad.events), "running": not bad.task.done()})
    await bad.stop()

    tick.cancel()
    emit({"phase": "done", "maxLoopGapMs": round(max(gaps) * 1000, 1), "ticks": len(gaps)})


asyncio.run(main())

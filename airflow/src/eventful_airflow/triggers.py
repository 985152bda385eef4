"""
``KafkaLagTrigger``: fires when eventful's consumer group falls behind, without consuming anything.

Airflow's own Kafka trigger consumes messages to decide, which would fight with eventful's consumer
group. This one runs ``node <home>/dist/lag.js --min-lag N --max-age D`` every ``poll_interval``
seconds with asyncio's subprocess (the triggerer's event loop is never blocked): lag reads the
group's committed offsets and the watermarks, never joins the group and never commits. Exit 0
means a threshold is crossed (or pending events are at retention risk): the trigger yields one
``TriggerEvent`` whose payload is the lag summary, and the asset it watches is marked updated.
Exit 99 means below the thresholds. Exit 1 (broker unreachable) and 2 (bad settings) are logged and
polling goes on, so a fixed connection or Variable heals the watcher without a restart.

After firing it does not fire again until lag has been seen below the thresholds once (the
snapshot caught up), or ``rearm_after`` seconds have passed (the snapshot DAG failed or is still
running): a backlog starts one DAG run, not one per poll.

Where the settings come from: the arguments are fixed when the DAG file is parsed (they identify
the trigger); the Kafka connection (``kafka_conn_id``, default ``eventful_kafka``) is read when the
trigger runs, and its extra JSON reaches lag through the ``EVENTFUL_KAFKA_CONFIG`` environment
variable, never the command line or the trigger's stored arguments.

Deployment: the triggerer imports this class by its classpath
``eventful_airflow.triggers.KafkaLagTrigger`` (:data:`CLASSPATH`), so the ``eventful-airflow``
package must be installed in the triggerer's Python (``pip install ./airflow`` from the eventful
repository), as on the DAG processor and the workers. Where it is missing, Airflow's triggerer logs
``Trigger failed to load code ... classpath=eventful_airflow.triggers.KafkaLagTrigger`` once and the
watcher never fires: run ``python -m eventful_airflow.check`` in the triggerer's environment to see
what is missing. Node and eventful's ``dist/`` must be installed where the triggerer runs, as on the
workers.

On Airflow 2 there is no event-driven scheduling: this module still imports (so a DagBag parsing the
dags folder reports no error), but nothing uses the class there.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any, AsyncIterator

try:  # Airflow 3: triggers that may start DAG runs through an AssetWatcher
    from airflow.triggers.base import BaseEventTrigger, TriggerEvent

    EVENT_DRIVEN_SCHEDULING = True
except ImportError:  # Airflow 2
    from airflow.triggers.base import BaseTrigger as BaseEventTrigger, TriggerEvent

    EVENT_DRIVEN_SCHEDULING = False

#: Where the triggerer finds this class: it imports it by this path when it starts the watcher.
CLASSPATH = "eventful_airflow.triggers.KafkaLagTrigger"

#: lag's exit codes (see ``node dist/lag.js --help``).
EXIT_CROSSED = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BELOW = 99

#: How much of lag's stderr goes into the triggerer's log when a check fails.
_STDERR_TAIL = 2_000


class KafkaLagTrigger(BaseEventTrigger):
    """
    Polls eventful's ``lag`` command and fires when the consumer group's lag crosses a threshold.

    :param topics: comma-separated topics to watch (as extract's ``--topics``).
    :param group_id: the consumer group whose committed offsets mark what was snapshotted.
    :param home: the eventful package folder (``<home>/dist/lag.js``).
    :param min_lag: fire when at least this many events are pending over all topics.
    :param max_age: fire when the oldest pending event is older than this (``90s``, ``30m``, ``2h``).
    :param retention_warn: share of ``retention.ms`` past which pending events are at risk (lag's default 0.5).
    :param poll_interval: seconds between checks.
    :param rearm_after: seconds after firing before firing again while lag stays above the thresholds.
    :param timeout: seconds one check may take before its process is killed.
    :param kafka_conn_id: Airflow connection whose extra JSON holds the librdkafka properties; ``None``
        to use only the triggerer's environment (``KAFKA_BOOTSTRAP_SERVERS``, ``EVENTFUL_KAFKA__*``).
    :param node: the Node.js executable.
    """

    def __init__(
        self,
        *,
        topics: str,
        group_id: str,
        home: str,
        min_lag: int | None = None,
        max_age: str | None = None,
        retention_warn: float | None = None,
        poll_interval: float = 60.0,
        rearm_after: float = 3600.0,
        timeout: float = 120.0,
        kafka_conn_id: str | None = "eventful_kafka",
        node: str = "node",
    ):
        super().__init__()
        if min_lag is None and max_age is None:
            raise ValueError(
                "KafkaLagTrigger needs min_lag and/or max_age: without a threshold it would fire on every poll"
            )
        if poll_interval <= 0 or timeout <= 0 or rearm_after < 0:
            raise ValueError("KafkaLagTrigger: poll_interval and timeout must be positive, rearm_after not negative")
        self.topics = topics
        self.group_id = group_id
        self.home = home
        self.min_lag = min_lag
        self.max_age = max_age
        self.retention_warn = retention_warn
        self.poll_interval = poll_interval
        self.rearm_after = rearm_after
        self.timeout = timeout
        self.kafka_conn_id = kafka_conn_id
        self.node = node

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "topics": self.topics,
                "group_id": self.group_id,
                "home": self.home,
                "min_lag": self.min_lag,
                "max_age": self.max_age,
                "retention_warn": self.retention_warn,
                "poll_interval": self.poll_interval,
                "rearm_after": self.rearm_after,
                "timeout": self.timeout,
                "kafka_conn_id": self.kafka_conn_id,
                "node": self.node,
            },
        )

    def command(self) -> list[str]:
        """The lag command line: settings only, never a secret."""
        cmd = [self.node, os.path.join(self.home, "dist", "lag.js"), "--topics", self.topics]
        cmd += ["--group-id", self.group_id]
        if self.min_lag is not None:
            cmd += ["--min-lag", str(self.min_lag)]
        if self.max_age is not None:
            cmd += ["--max-age", str(self.max_age)]
        if self.retention_warn is not None:
            cmd += ["--retention-warn", str(self.retention_warn)]
        return cmd

    async def _environment(self) -> dict[str, str]:
        """The triggerer's environment plus the Kafka connection's librdkafka properties."""
        env = dict(os.environ)
        if not self.kafka_conn_id:
            return env
        try:  # Airflow 3.1+: no blocking call on the triggerer's event loop
            from airflow.sdk import BaseHook

            conn = await BaseHook.aget_connection(self.kafka_conn_id)
        except (ImportError, AttributeError):
            from airflow.hooks.base import BaseHook

            conn = await asyncio.to_thread(BaseHook.get_connection, self.kafka_conn_id)
        extra = conn.extra_dejson or {}
        env["EVENTFUL_KAFKA_CONFIG"] = json.dumps(extra)
        if extra.get("bootstrap.servers"):
            env["KAFKA_BOOTSTRAP_SERVERS"] = str(extra["bootstrap.servers"])
        return env

    async def check(self) -> tuple[int, dict[str, Any] | None, str]:
        """Runs lag once: its exit code, its JSON summary (None if it printed none), the tail of its stderr."""
        try:
            env = await self._environment()
        except Exception as err:  # a missing or broken connection: a configuration problem
            return EXIT_USAGE, None, f"cannot read the Kafka connection {self.kafka_conn_id!r}: {err}"
        proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=self.timeout)
        except asyncio.TimeoutError:
            return EXIT_FAILURE, None, f"lag did not finish within {self.timeout} s: killed"
        finally:
            # On a timeout, or when the trigger is cancelled mid-check, leave no process behind.
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        summary = None
        lines = stdout.decode("utf-8", "replace").strip().splitlines()
        if lines:
            try:
                summary = json.loads(lines[-1])
            except ValueError:
                summary = None
        return proc.returncode, summary, stderr.decode("utf-8", "replace")[-_STDERR_TAIL:]

    @staticmethod
    def payload(summary: dict[str, Any]) -> dict[str, Any]:
        """What the event carries (into the asset event's extra): the totals and why, no per-partition detail."""
        keys = ("status", "groupId", "lag", "lost", "oldestPendingTimestamp", "oldestPendingAgeMs", "reasons")
        out = {k: summary.get(k) for k in keys}
        out["checkedAt"] = summary.get("checkedAt")
        out["topics"] = [
            {k: t.get(k) for k in ("topic", "lag", "lost", "oldestPendingAgeMs", "retentionMs", "retentionRisk")}
            for t in summary.get("topics") or []
        ]
        return out

    async def run(self) -> AsyncIterator[TriggerEvent]:
        armed = True
        fired_at = 0.0
        while True:
            code, summary, stderr = await self.check()
            if code == EXIT_CROSSED and summary and summary.get("status") == "crossed":
                if armed or time.monotonic() - fired_at >= self.rearm_after:
                    self.log.info("lag crossed the thresholds: %s", "; ".join(summary.get("reasons") or []))
                    armed = False
                    fired_at = time.monotonic()
                    yield TriggerEvent(self.payload(summary))
                else:
                    self.log.info(
                        "lag still above the thresholds (%s pending); fired %.0f s ago, waiting for the snapshot",
                        summary.get("lag"),
                        time.monotonic() - fired_at,
                    )
            elif code == EXIT_BELOW:
                armed = True
            elif code == EXIT_USAGE:
                self.log.error("lag refused its settings (exit 2); fix them, polling goes on:\n%s", stderr)
            else:
                self.log.warning("lag failed (exit %s); retrying in %s s:\n%s", code, self.poll_interval, stderr)
            await asyncio.sleep(self.poll_interval)

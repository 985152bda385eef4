"""
The fan-out DAG's partition groups, decided once per DAG run by a task, so they travel with the run.

A group is one mapped extract's share of the partitions, in extract's ``--partitions`` syntax
(``train-arrivals:0-2,incidents:0-2``). :class:`PartitionGroupsOperator` computes the groups when the
DAG runs (from the topics' partition counts, read with eventful's ``lag`` command, and a group size)
and returns them as its XCom; ``extract`` is ``.expand()``-ed over that output, so map index *i* gets
group *i* as its argument, whatever the environment of the worker that runs it. Every group is checked
here before it reaches a task: topic names and partition numbers only, and no partition in two groups.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from eventful_airflow.compat import AirflowFailException, BaseOperator
from eventful_airflow.settings import EXTRACT_ENV, HOME
from eventful_airflow.tasks import BashOperator

#: The Variable that fixes the groups by hand (``;`` between groups); empty: computed from the partition counts.
GROUPS_OVERRIDE = "{{ var.value.get('eventful_partition_groups', '') }}"
#: Partitions of each topic per group (the Variable ``eventful_partition_group_size``, default 3).
GROUP_SIZE = "{{ var.value.get('eventful_partition_group_size', '3') }}"

#: Kafka's legal topic names (letters, digits, ``.``, ``_``, ``-``; at most 249), then partitions or ranges.
_TOPIC = r"[A-Za-z0-9._-]{1,249}"
_RANGE = r"\d{1,6}(?:-\d{1,6})?"
_GROUP = re.compile(rf"{_TOPIC}:{_RANGE}(?:,(?:{_TOPIC}:)?{_RANGE})*")

#: How long reading the partition counts may take before the task fails (and Airflow retries it).
LAG_TIMEOUT_S = 120
#: How much of lag's stderr a failure message quotes.
_STDERR_TAIL = 2_000


def parse_group(group: str) -> dict[str, set[int]]:
    """The partitions a group names, by topic; ``ValueError`` (saying why) for anything but ``topic:0-2,...``."""
    if not _GROUP.fullmatch(group):
        raise ValueError(f"partition group {group!r} must look like topic:0-2,other:3 (topic names and numbers only)")
    out: dict[str, set[int]] = {}
    topic = ""
    for item in group.split(","):
        if ":" in item:
            topic, item = item.split(":", 1)
        low, _, high = item.partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            raise ValueError(f"partition group {group!r}: the range {item} runs backwards")
        out.setdefault(topic, set()).update(range(first, last + 1))
    return out


def check_groups(groups: list[str]) -> list[str]:
    """The groups, unchanged, once each parses and no partition is in two of them; ``ValueError`` otherwise."""
    if not groups:
        raise ValueError("no partition groups: the topics have no partitions, or the override is empty")
    owner: dict[tuple[str, int], str] = {}
    for group in groups:
        for topic, partitions in parse_group(group).items():
            for p in partitions:
                if (topic, p) in owner:
                    raise ValueError(f"{topic}[{p}] is in two partition groups: {owner[(topic, p)]!r} and {group!r}")
                owner[(topic, p)] = group
    return groups


def split_override(text: str) -> list[str]:
    """The groups of the override Variable: ``;`` between groups, blanks ignored."""
    return [g.strip() for g in text.split(";") if g.strip()]


def groups_by_size(counts: dict[str, int], size: int) -> list[str]:
    """
    Groups of ``size`` consecutive partitions: group *i* takes partitions ``i*size .. i*size+size-1`` of every
    topic that has them, so 6-partition topics and size 3 give ``a:0-2,b:0-2`` and ``a:3-5,b:3-5``.
    """
    if size < 1:
        raise ValueError(f"the partition group size must be a positive integer, not {size}")
    groups = []
    for start in range(0, max(counts.values(), default=0), size):
        items = []
        for topic, count in counts.items():
            last = min(start + size, count) - 1
            if last >= start:
                items.append(f"{topic}:{start}" if last == start else f"{topic}:{start}-{last}")
        groups.append(",".join(items))
    return groups


def partition_counts(summary: dict) -> dict[str, int]:
    """Partitions per topic from lag's JSON summary (its ``topics[].partitions``), in lag's order."""
    return {t["topic"]: len(t.get("partitions") or []) for t in summary.get("topics") or []}


class PartitionGroupsOperator(BaseOperator):
    """
    Returns (as its XCom) the partition groups of this DAG run: the ``eventful_partition_groups`` Variable when
    set, else groups of ``eventful_partition_group_size`` partitions of the topics extract drains (their counts
    read with ``node <home>/dist/lag.js``, which never joins the group or commits). Bad groups fail the task
    without retries (a configuration error); an unreachable broker fails it like any task (Airflow retries).
    """

    template_fields = ("home", "group_size", "override", "env")

    def __init__(
        self,
        *,
        home: str = HOME,
        group_size: str = GROUP_SIZE,
        override: str = GROUPS_OVERRIDE,
        env: dict | None = None,
        node: str = "node",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.home = home
        self.group_size = group_size
        self.override = override
        self.env = EXTRACT_ENV if env is None else env
        self.node = node

    def _lag_summary(self) -> dict:
        """lag's JSON summary for the topics and group of ``env`` (settings only on the command line)."""
        cmd = [self.node, os.path.join(self.home, "dist", "lag.js")]
        proc = subprocess.run(
            cmd,
            env={**os.environ, **{k: str(v) for k, v in self.env.items()}},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=LAG_TIMEOUT_S,
        )
        if proc.returncode == 2:
            raise AirflowFailException(f"lag refused the settings (exit 2):\n{proc.stderr[-_STDERR_TAIL:]}")
        # 99: below thresholds that the worker's own EVENTFUL_LAG_* set; the summary is there all the same.
        if proc.returncode not in (0, 99):
            raise RuntimeError(f"lag failed (exit {proc.returncode}):\n{proc.stderr[-_STDERR_TAIL:]}")
        try:
            return json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise RuntimeError(f"lag printed no JSON summary:\n{proc.stderr[-_STDERR_TAIL:]}") from None

    def execute(self, context) -> list[str]:
        try:
            if str(self.override).strip():
                groups = check_groups(split_override(str(self.override)))
            else:
                size = int(str(self.group_size).strip())
                groups = check_groups(groups_by_size(partition_counts(self._lag_summary()), size))
        except ValueError as err:
            raise AirflowFailException(f"{err}: fix the Variable eventful_partition_groups or eventful_partition_group_size")
        self.log.info("%d partition groups: %s", len(groups), "; ".join(groups))
        return groups


class PartitionExtractOperator(BashOperator):
    """
    eventful's extract over one partition group: ``partitions`` (the mapped argument) is checked and handed to
    extract through ``EVENTFUL_PARTITIONS`` in the task's environment, never spliced into the command line.
    """

    def __init__(self, *, partitions: str, env: dict | None = None, **kwargs):
        try:
            check_groups([partitions])
        except ValueError as err:
            raise AirflowFailException(str(err))
        super().__init__(env={**(env or {}), "EVENTFUL_PARTITIONS": partitions}, **kwargs)
        self.partitions = partitions

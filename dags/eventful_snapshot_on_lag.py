"""
eventful, started by the backlog instead of the clock: snapshot Kafka into PostgreSQL when enough is pending.

**Airflow 3 (event-driven).** An asset, ``eventful_kafka_backlog``, is watched by
``KafkaLagTrigger`` (``eventful_airflow.triggers``) in the triggerer: every ``poll_interval`` it runs
eventful's ``lag`` command, which reads the consumer group's committed offsets and the topics'
watermarks without joining the group or consuming anything. When at least ``min_lag`` events are
pending, or the oldest one is older than ``max_age``, or pending events are about to expire
(``retention.ms``), the asset is marked updated and this DAG runs ``extract >> load``. Over SASL the
topics' ``retention.ms`` cannot be read: set ``EVENTFUL_LAG_ASSUME_RETENTION`` (e.g. ``168h``) in the
triggerer's environment (Airflow 2: the workers') for the expiry condition to apply.

**Airflow 2 (fallback, the same file).** No event-driven scheduling: the DAG runs hourly with a
``lag`` task in front. Below the thresholds lag exits 99, the task is *skipped*, and so is extract
(default trigger rule); load still runs (``none_failed``) and skips itself when nothing is pending,
so a snapshot whose load failed earlier is caught up.

**When to choose which.** The hourly ``eventful_snapshot`` is simplest and predictable: choose it when
events arrive steadily. Choose this DAG when traffic is bursty or retention is short: quiet hours
start no run at all (Airflow 3) or a cheap skipped one (Airflow 2), and a burst, or events close to
expiry, starts a snapshot within ``poll_interval`` instead of at the next hour. Run only one of the
snapshot DAGs: they share the consumer group (pause the others).

**Pausing and unpausing (Airflow 3).** Pausing this DAG removes its watcher: at its next parse of this file
the DAG processor drops the asset's watcher and the trigger row (an asset watched only by paused DAGs has no
watcher), and the triggerer stops polling. While paused, nothing polls Kafka, no asset event is recorded and no
run starts, however large the backlog grows. Unpausing brings the watcher back at the next parse (within the
DAG processor's ``min_file_process_interval``, 30 s by default), as a new trigger that starts armed: because it
compares the group's lag with the thresholds, not events one by one, a backlog that built up while the DAG was
paused fires on its first poll and starts one run, which drains all of it. A backlog below the thresholds waits
for more events or for ``max_age``, as always. Checked on a live Airflow 3.3.2 (``airflow standalone``, see
docs/airflow.md): the watcher and its trigger were gone at the first check, 11 s after ``airflow dags pause``; 544
events produced while paused started no run in 96 s; after ``airflow dags unpause`` the watcher was back, had fired
and had started the run that drained them by the check at 27 s (not yet at 12 s).

**Settings.** The thresholds come from the DAG processor's environment:
``EVENTFUL_LAG_MIN_LAG`` (default 10000 events), ``EVENTFUL_LAG_MAX_AGE`` (default 1h),
``EVENTFUL_LAG_POLL_INTERVAL`` (seconds, default 60). The watched topics, the group and the package
folder are fixed when the file is parsed, from ``AIRFLOW_VAR_EVENTFUL_TOPICS``,
``AIRFLOW_VAR_EVENTFUL_GROUP_ID`` and ``AIRFLOW_VAR_EVENTFUL_HOME`` (the environment variables that
also define those Airflow Variables; defaults as in ``eventful_snapshot``), and the extract task
here uses the same values, so the trigger watches exactly what extract drains. Variables set only
in the UI are not seen at parse time. The triggerer needs the ``eventful-airflow`` package
(``pip install ./airflow``), Node, and eventful's ``dist/``; ``python -m eventful_airflow.check`` run
in the triggerer's environment says whether it has them.
"""

from __future__ import annotations

import os

try:
    from eventful_airflow.compat import DAG
    from eventful_airflow.settings import EXTRACT_ENV, HOME, parse_time_setting
    from eventful_airflow.tasks import FAILURE_DOC, BashOperator, dag_kwargs, snapshot_tasks
    from eventful_airflow.triggers import EVENT_DRIVEN_SCHEDULING, KafkaLagTrigger
except ModuleNotFoundError as missing:  # a DAG import error that says what to do
    if not (missing.name or "").startswith("eventful_airflow"):
        raise
    raise ModuleNotFoundError(
        "eventful's DAGs need the eventful-airflow package in this Airflow's Python: run `pip install ./airflow` "
        "from the eventful repository (on the DAG processor, scheduler, workers and triggerer), then reparse",
        name=missing.name,
    ) from missing

if EVENT_DRIVEN_SCHEDULING:  # Airflow 3; on Airflow 2 the trigger module imports, but nothing uses it
    from airflow.sdk import Asset, AssetWatcher

TOPICS = parse_time_setting("eventful_topics", "train-arrivals,incidents")
GROUP_ID = parse_time_setting("eventful_group_id", "eventful-warehouse")
PACKAGE_HOME = parse_time_setting("eventful_home", "/opt/eventful")
MIN_LAG = int(os.environ.get("EVENTFUL_LAG_MIN_LAG", "10000"))
MAX_AGE = os.environ.get("EVENTFUL_LAG_MAX_AGE", "1h")
POLL_INTERVAL = float(os.environ.get("EVENTFUL_LAG_POLL_INTERVAL", "60"))

#: extract drains what the trigger watches: the same parse-time topics and group.
ON_LAG_EXTRACT_ENV = {**EXTRACT_ENV, "EVENTFUL_TOPICS": TOPICS, "EVENTFUL_GROUP_ID": GROUP_ID}

if EVENT_DRIVEN_SCHEDULING:
    backlog = Asset(
        name="eventful_kafka_backlog",
        watchers=[
            AssetWatcher(
                name="eventful_kafka_lag",
                trigger=KafkaLagTrigger(
                    topics=TOPICS,
                    group_id=GROUP_ID,
                    home=PACKAGE_HOME,
                    min_lag=MIN_LAG,
                    max_age=MAX_AGE,
                    poll_interval=POLL_INTERVAL,
                ),
            )
        ],
    )
    schedule = [backlog]
else:
    schedule = "@hourly"

with DAG(
    **dag_kwargs(
        dag_id="eventful_snapshot_on_lag",
        description="Snapshot Kafka into PostgreSQL when the consumer group's lag crosses a threshold",
        doc_md=__doc__ + FAILURE_DOC,
        schedule=schedule,
        tags=("eventful", "kafka", "warehouse", "event-driven"),
    )
) as dag:
    extract, load = snapshot_tasks(ON_LAG_EXTRACT_ENV)

    if not EVENT_DRIVEN_SCHEDULING:
        lag = BashOperator(
            task_id="lag",
            bash_command=f"node {HOME}/dist/lag.js",
            env={
                **ON_LAG_EXTRACT_ENV,
                "EVENTFUL_LAG_MIN_LAG": str(MIN_LAG),
                "EVENTFUL_LAG_MAX_AGE": MAX_AGE,
            },
            append_env=True,
            skip_on_exit_code=99,
        )
        lag >> extract

if __name__ == "__main__":
    dag.test()

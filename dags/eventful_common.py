"""
Settings shared by eventful's DAG files (this module defines no DAG).

Everything here is a template rendered when a task runs: importing it touches no database
and no network.
"""

from __future__ import annotations

import datetime
import os

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

try:  # Airflow 3, and 2.10+ with the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2.7-2.9
    from airflow.operators.bash import BashOperator

# Templates, rendered when the task runs: parsing this file touches no database and no network.
HOME = "{{ var.value.get('eventful_home', '/opt/eventful') }}"
SNAPSHOT_ROOT = "{{ var.value.get('eventful_snapshot_root', '/opt/airflow/eventful/snapshots') }}"
KAFKA = "conn.eventful_kafka"
PG = "conn.eventful_postgres"

#: What extract needs: settings as environment variables, so no value is ever quoted into a shell line.
EXTRACT_ENV = {
    "EVENTFUL_TOPICS": "{{ var.value.get('eventful_topics', 'train-arrivals,incidents') }}",
    "EVENTFUL_GROUP_ID": "{{ var.value.get('eventful_group_id', 'eventful-warehouse') }}",
    "EVENTFUL_OUT": SNAPSHOT_ROOT,
    # A run id unique per DAG run and attempt: a retry never clobbers a snapshot an earlier attempt finished.
    "EVENTFUL_RUN_ID": "{{ run_id }}-try{{ ti.try_number }}",
    # The connection's extra JSON: librdkafka properties; sasl.password in it is masked in Airflow's logs.
    "EVENTFUL_KAFKA_CONFIG": "{{ %s.extra_dejson | tojson }}" % KAFKA,
    "KAFKA_BOOTSTRAP_SERVERS": "{{ %s.extra_dejson['bootstrap.servers'] }}" % KAFKA,
}

#: What load needs: the standard libpq variables; the password only through PGPASSWORD.
LOAD_ENV = {
    "EVENTFUL_SNAPSHOTS": SNAPSHOT_ROOT,
    "EVENTFUL_DB_SCHEMA": "{{ var.value.get('eventful_db_schema', 'public') }}",
    "PGHOST": "{{ %s.host }}" % PG,
    "PGPORT": "{{ %s.port or 5432 }}" % PG,
    "PGUSER": "{{ %s.login }}" % PG,
    "PGPASSWORD": "{{ %s.password or '' }}" % PG,
    "PGDATABASE": "{{ %s.schema }}" % PG,
    # A DATABASE_URL in the worker's own environment would win over PG*: point it at the connection too.
    "DATABASE_URL": "postgresql://{{ %s.login }}@{{ %s.host }}:{{ %s.port or 5432 }}/{{ %s.schema }}" % (PG, PG, PG, PG),
}


DEFAULT_ARGS = {
    "retries": 2,
    "retry_delay": datetime.timedelta(minutes=2),
    "execution_timeout": datetime.timedelta(minutes=45),
}

FAILURE_DOC = """
### When a task fails

* **extract** failed: nothing was committed, so the next try reads the same events again. Read its log:
  an unreachable broker, an unknown topic, or too many rejected events (raise `--max-rejected-ratio`
  only after looking at the quarantined messages in the snapshot's `rejected.ndjson`, or in the
  warehouse's quarantine table).
* **load** failed: nothing of the failing snapshot was written (one transaction per snapshot);
  fix the cause (database down, a schema change that cannot be applied safely) and clear the task,
  or let the next run catch up.

### Exit codes

0 done; 99 nothing to do (the task is marked skipped); 2 bad usage or configuration (fix the
Variables or connections: a retry will not help); 1 any other failure (Airflow retries).
"""

#: Partition groups of the fan-out DAG, one mapped extract task each. Read from the environment of the
#: DAG processor (not from a Variable: parsing must not touch the database). Groups must not overlap.
PARTITION_GROUPS = [
    g.strip()
    for g in os.environ.get(
        "EVENTFUL_PARTITION_GROUPS", "train-arrivals:0-2,incidents:0-2;train-arrivals:3-5,incidents:3-5"
    ).split(";")
    if g.strip()
]

__all__ = [
    "DAG",
    "BashOperator",
    "HOME",
    "SNAPSHOT_ROOT",
    "EXTRACT_ENV",
    "LOAD_ENV",
    "DEFAULT_ARGS",
    "FAILURE_DOC",
    "PARTITION_GROUPS",
]

"""
Settings shared by eventful's DAG files (this module defines no DAG).

Task settings here are templates rendered when a task runs. What must be known when the file is
parsed (asset URIs, the lag trigger's arguments) comes from the DAG processor's environment only:
importing this module touches no database and no network.
"""

from __future__ import annotations

import datetime
import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

try:  # Airflow 3, and 2.10+ with the standard provider
    from airflow.providers.standard.operators.bash import BashOperator as _BashOperator
except ImportError:  # Airflow 2.7-2.9
    from airflow.operators.bash import BashOperator as _BashOperator

try:  # Airflow 3
    from airflow.sdk import Asset
except ImportError:  # Airflow 2.4+: the same idea was called Dataset
    from airflow.datasets import Dataset as Asset

# Templates, rendered when the task runs: parsing this file touches no database and no network.
HOME = "{{ var.value.get('eventful_home', '/opt/eventful') }}"
SNAPSHOT_ROOT = "{{ var.value.get('eventful_snapshot_root', '/opt/airflow/eventful/snapshots') }}"
#: The JSON Schemas that define the topics' tables: the package's own unless a Variable names another folder.
SCHEMAS = "{{ var.value.get('eventful_schemas', '') or (var.value.get('eventful_home', '/opt/eventful') ~ '/schemas') }}"
KAFKA = "conn.eventful_kafka"
PG = "conn.eventful_postgres"
#: The object store (S3, MinIO, SeaweedFS, s3proxy...), an ``aws`` connection in the Amazon provider's
#: convention: login = access key id, password = secret access key, extra ``endpoint_url`` (leave it out for
#: AWS S3 itself), ``region_name`` and optionally ``aws_session_token``.
S3 = "conn.eventful_s3"
#: Whether the snapshot root is an object store. Only then do the templates read the ``eventful_s3``
#: connection, so a DAG that keeps its snapshots in a folder needs no such connection.
ON_S3 = "var.value.get('eventful_snapshot_root', '').strip().lower().startswith('s3://')"


def _s3_setting(field: str) -> str:
    """A template: ``field`` of the ``eventful_s3`` connection when the root is ``s3://``, else empty."""
    return "{{ ((%s.%s) or '') if %s else '' }}" % (S3, field, ON_S3)


#: The AWS_* variables extract and load read (both treat an empty value as unset). With a folder as the root
#: they render empty, so no object store settings of the worker's reach the tasks; with an s3:// root they come
#: from the connection (an empty login and password: the SDK's default chain, e.g. the worker's instance role).
#: The secret key only ever travels through the task's environment, and Airflow masks it in task logs.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": _s3_setting("login"),
    "AWS_SECRET_ACCESS_KEY": _s3_setting("password"),
    "AWS_SESSION_TOKEN": _s3_setting("extra_dejson.get('aws_session_token')"),
    "AWS_REGION": _s3_setting("extra_dejson.get('region_name')"),
    "AWS_ENDPOINT_URL_S3": _s3_setting("extra_dejson.get('endpoint_url')"),
}

#: What extract needs: settings as environment variables, so no value is ever quoted into a shell line.
EXTRACT_ENV = {
    "EVENTFUL_TOPICS": "{{ var.value.get('eventful_topics', 'train-arrivals,incidents') }}",
    "EVENTFUL_GROUP_ID": "{{ var.value.get('eventful_group_id', 'eventful-warehouse') }}",
    "EVENTFUL_OUT": SNAPSHOT_ROOT,
    "EVENTFUL_SCHEMAS": SCHEMAS,
    # A run id unique per DAG run and attempt: a retry never clobbers a snapshot an earlier attempt finished.
    "EVENTFUL_RUN_ID": "{{ run_id }}-try{{ ti.try_number }}",
    # The connection's extra JSON: librdkafka properties; sasl.password in it is masked in Airflow's logs.
    "EVENTFUL_KAFKA_CONFIG": "{{ %s.extra_dejson | tojson }}" % KAFKA,
    "KAFKA_BOOTSTRAP_SERVERS": "{{ %s.extra_dejson['bootstrap.servers'] }}" % KAFKA,
    **S3_ENV,
}

#: What load needs: the standard libpq variables; the password only through PGPASSWORD.
LOAD_ENV = {
    "EVENTFUL_SNAPSHOTS": SNAPSHOT_ROOT,
    "EVENTFUL_SCHEMAS": SCHEMAS,
    "EVENTFUL_DB_SCHEMA": "{{ var.value.get('eventful_db_schema', 'public') }}",
    "PGHOST": "{{ %s.host }}" % PG,
    "PGPORT": "{{ %s.port or 5432 }}" % PG,
    "PGUSER": "{{ %s.login }}" % PG,
    "PGPASSWORD": "{{ %s.password or '' }}" % PG,
    "PGDATABASE": "{{ %s.schema }}" % PG,
    # A DATABASE_URL in the worker's own environment would win over PG*: point it at the connection too.
    "DATABASE_URL": "postgresql://{{ %s.login }}@{{ %s.host }}:{{ %s.port or 5432 }}/{{ %s.schema }}" % (PG, PG, PG, PG),
    **S3_ENV,
}


DEFAULT_ARGS = {
    # EVENTFUL_DAG_RETRIES (environment of the DAG processor) lets tests run `airflow dags test` without waits.
    "retries": int(os.environ.get("EVENTFUL_DAG_RETRIES", "2")),
    "retry_delay": datetime.timedelta(minutes=2),
    "execution_timeout": datetime.timedelta(minutes=45),
}

#: The first logical date of every eventful DAG (with no catchup, a new deployment just starts at the next interval).
START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


def dag_kwargs(
    *,
    dag_id: str,
    description: str,
    doc_md: str,
    schedule="@hourly",
    tags: tuple[str, ...] = ("eventful", "kafka", "warehouse"),
    dagrun_timeout: datetime.timedelta = datetime.timedelta(hours=2),
    default_args: dict | None = None,
) -> dict:
    """
    The keyword arguments of an eventful ``with DAG(...)``: the settings every eventful DAG shares (one run
    at a time, no catchup, :data:`START_DATE`, :data:`DEFAULT_ARGS` unless given) plus its own.
    """
    return {
        "dag_id": dag_id,
        "description": description,
        "schedule": schedule,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "dagrun_timeout": dagrun_timeout,
        "default_args": DEFAULT_ARGS if default_args is None else default_args,
        "doc_md": doc_md,
        "tags": list(tags),
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
* Either failed with an object store message (`refused the key pair`, `cannot reach the object store`,
  `the bucket does not exist`): the snapshot root Variable is an `s3://` location; fix the `eventful_s3`
  connection (login = access key id, password = secret key, extra `endpoint_url`, `region_name`).

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

def parse_time_setting(name: str, default: str) -> str:
    """
    A setting needed while the file is parsed (asset URIs, trigger arguments), which cannot be a
    template: the DAG processor's environment variable ``AIRFLOW_VAR_<NAME>`` (the variable that also
    defines the Airflow Variable ``name``, so tasks and parse time agree), else ``default``. A Variable
    set only in the UI or the metadata database is not seen here: parsing must not touch the database.
    """
    value = os.environ.get("AIRFLOW_VAR_" + name.upper(), "").strip()
    return value or default


def _warehouse_location() -> tuple[str, int, str]:
    """
    Host, port and database of the warehouse for the tables' asset URIs, at parse time: from
    ``AIRFLOW_CONN_EVENTFUL_POSTGRES`` (JSON or URI, the connection the load task uses) when the
    DAG processor has it, else the docker-compose stack's ``warehouse:5432/warehouse``.
    """
    import json
    from urllib.parse import urlsplit

    host, port, database = "warehouse", 5432, "warehouse"
    text = os.environ.get("AIRFLOW_CONN_EVENTFUL_POSTGRES", "").strip()
    try:
        if text.startswith("{"):
            conn = json.loads(text)
            host = conn.get("host") or host
            port = int(conn.get("port") or port)
            database = conn.get("schema") or database
        elif text:
            url = urlsplit(text)
            host = url.hostname or host
            port = url.port or port
            database = url.path.lstrip("/") or database
    except (ValueError, TypeError):
        pass  # A malformed connection fails the load task with a clear message; the URI keeps its default.
    return host, port, database


def _snapshot_uri(root: str) -> str:
    """The snapshot root as an asset URI: ``s3://bucket/prefix`` as is, a folder as ``file:///path``."""
    if "://" in root:
        return root.rstrip("/")
    return "file://" + os.path.abspath(root)


#: Warehouse tables that load writes (one asset each): the tables the schemas in schemas/ name.
#: Override with the DAG processor's ``EVENTFUL_WAREHOUSE_TABLES`` (comma-separated) when you add schemas.
WAREHOUSE_TABLES = [
    t.strip()
    for t in os.environ.get("EVENTFUL_WAREHOUSE_TABLES", "train_arrivals,incident_events,incidents").split(",")
    if t.strip()
]

#: The snapshot location extract writes to (the ``eventful_snapshot_root`` Variable, read at parse time).
SNAPSHOT_ASSET = Asset(
    _snapshot_uri(parse_time_setting("eventful_snapshot_root", "/opt/airflow/eventful/snapshots"))
)


def _table_assets() -> dict:
    host, port, database = _warehouse_location()
    schema = parse_time_setting("eventful_db_schema", "public")
    # Airflow's Postgres convention: postgres://host:port/database/schema/table.
    return {t: Asset(f"postgres://{host}:{port}/{database}/{schema}/{t}") for t in WAREHOUSE_TABLES}


#: One asset per warehouse table, by table name, e.g. ``TABLE_ASSETS["train_arrivals"]``.
TABLE_ASSETS = _table_assets()

#: Outlets of eventful's tasks, by task id: extract updates the snapshot location, load the tables.
#: Airflow marks them updated only when the task succeeds: a skipped run (exit 99) updates nothing.
TASK_OUTLETS = {"extract": [SNAPSHOT_ASSET], "load": list(TABLE_ASSETS.values())}


class BashOperator(_BashOperator):
    """
    Airflow's BashOperator, plus one default: a task whose id is ``extract`` or ``load`` declares
    eventful's outlets (:data:`TASK_OUTLETS`) unless it passes ``outlets`` itself. So every eventful
    DAG publishes the same assets without repeating them.
    """

    def __init__(self, *, task_id: str, **kwargs):
        if kwargs.get("outlets") is None and task_id in TASK_OUTLETS:
            kwargs["outlets"] = list(TASK_OUTLETS[task_id])
        super().__init__(task_id=task_id, **kwargs)

    @classmethod
    def partial(cls, **kwargs):
        # Mapped tasks (.partial().expand()) never call __init__ while the file is parsed: declare here.
        if kwargs.get("outlets") is None and kwargs.get("task_id") in TASK_OUTLETS:
            kwargs["outlets"] = list(TASK_OUTLETS[kwargs["task_id"]])
        return super().partial(**kwargs)


def snapshot_tasks(extract_env: dict | None = None) -> tuple:
    """
    The ``extract >> load`` pair of the snapshot DAGs, inside the current ``with DAG(...)`` block:
    extract drains into a snapshot (exit 99, nothing new: skipped), load upserts every pending
    snapshot and runs after a skipped extract too (``none_failed``), so an earlier failed load
    catches up. Returns ``(extract, load)``, already wired.
    """
    extract = BashOperator(
        task_id="extract",
        bash_command=f"node {HOME}/dist/extract.js",
        env=extract_env or EXTRACT_ENV,
        append_env=True,
        skip_on_exit_code=99,
    )
    load = load_task()
    extract >> load
    return extract, load


def load_task():
    """The ``load`` task: every pending snapshot under the root; runs after a skipped extract too."""
    return BashOperator(
        task_id="load",
        bash_command=f"node {HOME}/dist/load.js",
        env=LOAD_ENV,
        append_env=True,
        skip_on_exit_code=99,
        trigger_rule="none_failed",
    )


__all__ = [
    "DAG",
    "BashOperator",
    "HOME",
    "SNAPSHOT_ROOT",
    "S3_ENV",
    "EXTRACT_ENV",
    "LOAD_ENV",
    "DEFAULT_ARGS",
    "START_DATE",
    "dag_kwargs",
    "FAILURE_DOC",
    "PARTITION_GROUPS",
    "Asset",
    "parse_time_setting",
    "WAREHOUSE_TABLES",
    "SNAPSHOT_ASSET",
    "TABLE_ASSETS",
    "TASK_OUTLETS",
    "snapshot_tasks",
    "load_task",
]

"""
Settings of eventful's tasks: Jinja templates rendered when a task runs (Airflow Variables and
connections), and the few values that must be known when a DAG file is parsed.

Importing this module touches no database and no network: what parsing needs comes from the DAG
processor's environment only.
"""

from __future__ import annotations

import os

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

#: The report page the ``eventful_report`` DAG writes: the Variable ``eventful_report_html``, else empty, and the
#: task's shell then uses ``$AIRFLOW_HOME/eventful/reports/wait-times.html`` on the worker (see REPORT_HTML_DEFAULT).
REPORT_HTML = "{{ var.value.get('eventful_report_html', '') }}"
#: The report's default path, a shell expression evaluated on the worker: inside the worker's AIRFLOW_HOME
#: (``~/airflow`` when unset, as Airflow itself defaults), so installs without Docker write where Airflow
#: keeps its own files; in the Docker image that is ``/opt/airflow/eventful/reports/wait-times.html``.
REPORT_HTML_DEFAULT = "${AIRFLOW_HOME:-$HOME/airflow}/eventful/reports/wait-times.html"


def parse_time_setting(name: str, default: str) -> str:
    """
    A setting needed while the file is parsed (asset URIs, trigger arguments), which cannot be a
    template: the DAG processor's environment variable ``AIRFLOW_VAR_<NAME>`` (the variable that also
    defines the Airflow Variable ``name``, so tasks and parse time agree), else ``default``. A Variable
    set only in the UI or the metadata database is not seen here: parsing must not touch the database.
    """
    value = os.environ.get("AIRFLOW_VAR_" + name.upper(), "").strip()
    return value or default

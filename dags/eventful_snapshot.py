"""
eventful: snapshot the train-arrival and incident topics from Kafka and load them into PostgreSQL.

Two tasks, each a compiled Node script of the eventful package run by a BashOperator:

1. ``extract`` drains everything new from the topics (as of the start of the task) into a durable
   snapshot folder under the snapshot root, then commits the consumer group's offsets.
   Exit 99 (nothing new) marks it *skipped*.
2. ``load`` upserts every complete snapshot under the root that the warehouse has not recorded yet,
   oldest first, each in one transaction with its ledger row. It runs after a skipped extract too
   (trigger rule ``none_failed``), so a load that failed or was missed earlier catches up by itself.
   Exit 99 (nothing pending) marks it *skipped*.

Settings: Airflow Variables ``eventful_home`` (the package folder, default ``/opt/eventful``),
``eventful_snapshot_root``, ``eventful_topics``, ``eventful_group_id``, ``eventful_db_schema``;
connections ``eventful_kafka`` (extra JSON = librdkafka properties, e.g. ``bootstrap.servers``,
``security.protocol``, ``sasl.*``) and ``eventful_postgres`` (its "schema" field is the database).
Secrets reach the scripts through the task's environment only, never the command line.
"""

from __future__ import annotations

try:
    from eventful_airflow.compat import DAG
    from eventful_airflow.tasks import FAILURE_DOC, dag_kwargs, snapshot_tasks
except ModuleNotFoundError as missing:  # a DAG import error that says what to do
    if not (missing.name or "").startswith("eventful_airflow"):
        raise
    raise ModuleNotFoundError(
        "eventful's DAGs need the eventful-airflow package in this Airflow's Python: run `pip install ./airflow` "
        "from the eventful repository (on the DAG processor, scheduler, workers and triggerer), then reparse",
        name=missing.name,
    ) from missing


with DAG(
    **dag_kwargs(
        dag_id="eventful_snapshot",
        description="Snapshot Kafka train arrivals and incidents into the PostgreSQL warehouse",
        doc_md=__doc__ + FAILURE_DOC,
    )
) as dag:
    extract, load = snapshot_tasks()

if __name__ == "__main__":
    dag.test()

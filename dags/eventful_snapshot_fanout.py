"""
An Airflow DAG, eventful fanned out: one ``extract`` task per partition group (dynamic task mapping), then one ``load``.

Use it instead of ``eventful_snapshot`` when one extract cannot keep up: many partitions, a backlog
after an outage, or workers too small for one drain. Each mapped task assigns itself its partitions
(``--partitions train-arrivals:0-2,incidents:0-2``) instead of joining the group as a member, and
commits their offsets under the same group id, so the groups must not overlap and the plain DAG must
not run at the same time (both DAGs use the same consumer group: pause one of them).
The groups come from the DAG processor's environment variable ``EVENTFUL_PARTITION_GROUPS``
(``;`` between groups); the default splits 6-partition topics in two.

Each mapped extract writes its own snapshot; ``load`` loads all pending snapshots under the root.
"""

from __future__ import annotations

try:
    from eventful_airflow.compat import DAG
    from eventful_airflow.settings import EXTRACT_ENV, HOME, PARTITION_GROUPS
    from eventful_airflow.tasks import FAILURE_DOC, BashOperator, dag_kwargs, load_task
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
        dag_id="eventful_snapshot_fanout",
        description="Snapshot Kafka topics into PostgreSQL with one extract per partition group",
        doc_md=__doc__ + FAILURE_DOC,
    )
) as dag:
    # Templates stay in .partial(): values given to .expand() are not templated. Each group is a literal
    # of the form topic:0-2,... (checked by extract), so it is safe on the command line.
    extract = BashOperator.partial(
        task_id="extract",
        env={**EXTRACT_ENV, "EVENTFUL_RUN_ID": "{{ run_id }}-map{{ ti.map_index }}-try{{ ti.try_number }}"},
        append_env=True,
        skip_on_exit_code=99,
    ).expand(bash_command=[f"node {HOME}/dist/extract.js --partitions '{group}'" for group in PARTITION_GROUPS])

    load = load_task()

    extract >> load

if __name__ == "__main__":
    dag.test()

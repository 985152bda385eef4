"""
An Airflow DAG, eventful fanned out: one ``extract`` task per partition group (dynamic task mapping), then one ``load``.

Use it instead of ``eventful_snapshot`` when one extract cannot keep up: many partitions, a backlog
after an outage, or workers too small for one drain. Each mapped task assigns itself its partitions
(``train-arrivals:0-2,incidents:0-2``) instead of joining the group as a member, and commits their
offsets under the same group id, so the groups must not overlap and the plain DAG must not run at the
same time (both DAGs use the same consumer group: pause one of them).

**The groups are decided when the DAG runs, once per run.** The first task, ``partition_groups``, reads
the topics' partition counts (eventful's ``lag`` command: it never joins the group or commits) and cuts
them into groups of ``eventful_partition_group_size`` partitions (Variable, default 3: 6-partition
topics give two groups). The Variable ``eventful_partition_groups`` (``;`` between groups) fixes them by
hand instead. The task returns the groups as its XCom, and ``extract`` is expanded over that output:
map index *i* receives group *i* as its argument, so every worker drains exactly the group the scheduler
counted, whatever its own environment. Groups are checked (topic names and partition numbers only, no
partition in two groups) before any extract starts; a bad Variable fails ``partition_groups`` without
retries. Partitions added to a topic are picked up by the next run.

Each mapped extract writes its own snapshot; ``load`` loads all pending snapshots under the root.
"""

from __future__ import annotations

try:
    from eventful_airflow.compat import DAG
    from eventful_airflow.fanout import PartitionExtractOperator, PartitionGroupsOperator
    from eventful_airflow.settings import EXTRACT_ENV, HOME
    from eventful_airflow.tasks import FAILURE_DOC, dag_kwargs, load_task
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
    groups = PartitionGroupsOperator(task_id="partition_groups")

    # The templates (HOME, EXTRACT_ENV) sit in .partial() and are rendered on each mapped task. The groups come
    # from XCom, and Airflow does not render values that reach .expand() from XCom (literal lists given to
    # .expand() in the file would be rendered): a group is plain text, checked again by the operator, and it
    # reaches extract as EVENTFUL_PARTITIONS in the environment, not on the command line.
    extract = PartitionExtractOperator.partial(
        task_id="extract",
        bash_command=f"node {HOME}/dist/extract.js",
        env={**EXTRACT_ENV, "EVENTFUL_RUN_ID": "{{ run_id }}-map{{ ti.map_index }}-try{{ ti.try_number }}"},
        append_env=True,
        skip_on_exit_code=99,
    ).expand(partitions=groups.output)

    load = load_task()

    extract >> load  # .expand() over groups.output already puts partition_groups upstream of extract

if __name__ == "__main__":
    dag.test()

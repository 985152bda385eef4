"""
The building blocks of eventful's DAGs: the shared ``DAG(...)`` arguments, the BashOperator that
declares eventful's outlets, and the ``extract >> load`` tasks.
"""

from __future__ import annotations

import datetime
import os

import pendulum

from eventful_airflow.assets import TASK_OUTLETS
from eventful_airflow.compat import AirflowBashOperator
from eventful_airflow.settings import EXTRACT_ENV, HOME, LOAD_ENV

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


class BashOperator(AirflowBashOperator):
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

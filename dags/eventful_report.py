"""
eventful's wait-time report, refreshed whenever the ``train_arrivals`` table is updated.

Scheduled on the warehouse table's asset (``postgres://host:port/database/schema/train_arrivals``,
see ``eventful_airflow.assets.TABLE_ASSETS``): every successful ``load`` of a snapshot DAG marks
it updated, and this DAG runs ``node <home>/dist/report.js --html <file>``, which rewrites one
self-contained HTML page (charts included) with how long passengers wait at each station. A
skipped load (nothing pending, exit 99) updates no asset and starts no report.

Settings: the Variable ``eventful_report_html`` (the page to write, default
``$AIRFLOW_HOME/eventful/reports/wait-times.html`` on the worker, so
``/opt/airflow/eventful/reports/wait-times.html`` in the Docker image; written atomically, so readers
never see half a page), plus the same ``eventful_home``, ``eventful_db_schema`` and ``eventful_postgres``
connection as load. Exit 99 (no data yet) marks the task skipped.
"""

from __future__ import annotations

import datetime

try:
    from eventful_airflow.settings import HOME, LOAD_ENV, REPORT_HTML, REPORT_HTML_DEFAULT
    from eventful_airflow.assets import TABLE_ASSETS
    from eventful_airflow.compat import DAG
    from eventful_airflow.tasks import DEFAULT_ARGS, BashOperator, dag_kwargs
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
        dag_id="eventful_report",
        description="Refresh the passenger wait-time report when train arrivals are loaded",
        doc_md=__doc__,
        schedule=[TABLE_ASSETS["train_arrivals"]],
        tags=("eventful", "warehouse", "report"),
        dagrun_timeout=datetime.timedelta(minutes=30),
        default_args={**DEFAULT_ARGS, "execution_timeout": datetime.timedelta(minutes=15)},
    )
) as dag:
    # The path travels in the environment and is quoted by the shell: no Variable value is spliced into the line.
    # Without the Variable, the page goes under the worker's AIRFLOW_HOME (REPORT_HTML_DEFAULT).
    report = BashOperator(
        task_id="report",
        bash_command=(
            f'html="${{EVENTFUL_REPORT_HTML:-{REPORT_HTML_DEFAULT}}}" && mkdir -p "$(dirname "$html")" '
            f'&& node {HOME}/dist/report.js --html "$html"'
        ),
        env={**LOAD_ENV, "EVENTFUL_REPORT_HTML": REPORT_HTML},
        append_env=True,
        skip_on_exit_code=99,
    )

if __name__ == "__main__":
    dag.test()

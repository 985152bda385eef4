"""
eventful's wait-time report, refreshed whenever the ``train_arrivals`` table is updated.

Scheduled on the warehouse table's asset (``postgres://host:port/database/schema/train_arrivals``,
see ``TABLE_ASSETS`` in ``eventful_common.py``): every successful ``load`` of a snapshot DAG marks
it updated, and this DAG runs ``node <home>/dist/report.js --html <file>``, which rewrites one
self-contained HTML page (charts included) with how long passengers wait at each station. A
skipped load (nothing pending, exit 99) updates no asset and starts no report.

Settings: the Variable ``eventful_report_html`` (the page to write, default
``/opt/airflow/eventful/reports/wait-times.html``; written atomically, so readers never see half a
page), plus the same ``eventful_home``, ``eventful_db_schema`` and ``eventful_postgres``
connection as load. Exit 99 (no data yet) marks the task skipped.
"""

from __future__ import annotations

import datetime
import os
import sys

# The shared settings module sits beside this file, wherever the dags folder was copied to.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eventful_common import DAG, DEFAULT_ARGS, HOME, LOAD_ENV, TABLE_ASSETS, BashOperator, dag_kwargs  # noqa: E402

REPORT_HTML = "{{ var.value.get('eventful_report_html', '/opt/airflow/eventful/reports/wait-times.html') }}"

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
    report = BashOperator(
        task_id="report",
        bash_command=f'mkdir -p "$(dirname "$EVENTFUL_REPORT_HTML")" && node {HOME}/dist/report.js --html "$EVENTFUL_REPORT_HTML"',
        env={**LOAD_ENV, "EVENTFUL_REPORT_HTML": REPORT_HTML},
        append_env=True,
        skip_on_exit_code=99,
    )

if __name__ == "__main__":
    dag.test()

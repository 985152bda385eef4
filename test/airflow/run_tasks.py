"""
Prints the latest run of a DAG as one JSON object, read from Airflow's metadata database: every task instance
(task id, map index, state) and one task's XCom return value.

usage: run_tasks.py <dag_id> <xcom_task_id>
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.simplefilter("ignore")

from airflow.models import DagRun, TaskInstance  # noqa: E402
from airflow.utils.session import create_session  # noqa: E402

try:  # Airflow 3
    from airflow.models.xcom import XComModel as XCom
except ImportError:  # Airflow 2
    from airflow.models.xcom import XCom

dag_id, xcom_task = sys.argv[1], sys.argv[2]
with create_session() as session:
    run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.start_date.desc()).first()
    tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id).all()
    row = (
        session.query(XCom)
        .filter(XCom.dag_id == dag_id, XCom.run_id == run.run_id, XCom.task_id == xcom_task, XCom.key == "return_value")
        .first()
    )
    value = row.value if row is not None else None
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    print(
        json.dumps(
            {
                "run_id": run.run_id,
                "tasks": sorted(
                    ({"task_id": ti.task_id, "map_index": ti.map_index, "state": str(ti.state)} for ti in tis),
                    key=lambda t: (t["task_id"], t["map_index"]),
                ),
                "xcom": value,
            }
        )
    )

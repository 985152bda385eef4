"""
Loads dags/ with a real Airflow's DagBag (3.x or 2.x) and prints, as one JSON object, what the asset
tests assert on: each DAG's schedule (time, or the assets it waits for and their watchers' triggers)
and each task's outlets and upstream tasks.
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.simplefilter("ignore")

import airflow  # noqa: E402

try:  # Airflow 3.3+
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
except ImportError:  # older
    from airflow.models import DagBag

    bag = DagBag(dag_folder=sys.argv[1], include_examples=False)


def describe_asset(asset):
    watchers = []
    for w in getattr(asset, "watchers", None) or []:
        classpath, kwargs = w.trigger.serialize()
        watchers.append({"name": w.name, "classpath": classpath, "kwargs": kwargs})
    return {"uri": asset.uri, "name": getattr(asset, "name", None), "watchers": watchers}


def describe_schedule(dag):
    timetable = dag.timetable
    if type(timetable).__name__ in ("AssetTriggeredTimetable", "DatasetTriggeredTimetable"):
        condition = getattr(timetable, "asset_condition", None) or getattr(timetable, "dataset_condition")
        objects = getattr(condition, "objects", None) or [condition]
        return {"kind": "assets", "assets": [describe_asset(o) for o in objects]}
    schedule = getattr(dag, "schedule", None)
    if not isinstance(schedule, str):
        schedule = getattr(dag, "schedule_interval", None)
    return {"kind": "time", "expression": str(schedule)}


def outlets_of(task):
    return [o.uri for o in attr(task, "outlets") or []]


def as_list(value):
    if value is None:
        return []
    return sorted(value) if isinstance(value, (list, tuple, set)) else [value]


def attr(task, name):
    """An operator argument, from a plain task or from a mapped task's .partial() arguments."""
    if hasattr(task, "partial_kwargs"):
        return task.partial_kwargs.get(name)
    return getattr(task, name, None)


out = {
    "version": airflow.__version__,
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "schedule": describe_schedule(dag),
            "tasks": {
                t.task_id: {
                    "outlets": outlets_of(t),
                    "upstream": sorted(t.upstream_task_ids),
                    "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
                    "skip_on_exit_code": as_list(attr(t, "skip_on_exit_code")),
                    # The Airflow operator behind eventful_airflow.tasks.BashOperator (shows which import path ran).
                    "airflow_operator": next(
                        (f"{c.__module__}.{c.__name__}" for c in type(t).__mro__ if c.__module__.startswith("airflow")),
                        None,
                    ),
                    "env": attr(t, "env") or {},
                    "bash_command": getattr(t, "bash_command", None),
                }
                for t in dag.tasks
            },
        }
        for dag_id, dag in bag.dags.items()
    },
}
print(json.dumps(out, default=str))

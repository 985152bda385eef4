"""Loads dags/ with a real Airflow's DagBag and prints what the tests assert on, as one JSON object."""

from __future__ import annotations

import json
import sys
import warnings

warnings.simplefilter("ignore")

try:  # Airflow 3.3+
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
except ImportError:  # older
    from airflow.models import DagBag

    bag = DagBag(dag_folder=sys.argv[1], include_examples=False)


def attr(task, name):
    """An operator argument, from a plain task or from a mapped task's .partial() arguments."""
    if hasattr(task, "partial_kwargs"):
        return task.partial_kwargs.get(name)
    return getattr(task, name, None)


def as_list(value):
    if value is None:
        return []
    return sorted(value) if isinstance(value, (list, tuple, set)) else [value]


def expand_input(task):
    """What a mapped task is expanded over: ``XComArg(<task id>)`` for an upstream task's output, else the literal."""
    value = getattr(getattr(task, "expand_input", None), "value", None) or {}
    out = {}
    for key, arg in value.items():
        upstream = getattr(getattr(arg, "operator", None), "task_id", None)
        out[key] = f"XComArg({upstream})" if upstream else arg
    return out


def describe_task(task):
    return {
        "type": type(task).__name__,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
        "retries": task.retries,
        "retry_delay_s": task.retry_delay.total_seconds() if task.retry_delay else None,
        "execution_timeout_s": task.execution_timeout.total_seconds() if task.execution_timeout else None,
        "append_env": attr(task, "append_env"),
        "skip_on_exit_code": as_list(attr(task, "skip_on_exit_code")),
        "env": attr(task, "env") or {},
        "bash_command": attr(task, "bash_command"),
        "mapped": hasattr(task, "partial_kwargs"),
        "expand_input": expand_input(task),
    }


out = {
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "has_doc_md": bool(dag.doc_md),
            "tags": sorted(dag.tags),
            "tasks": {t.task_id: describe_task(t) for t in dag.tasks},
        }
        for dag_id, dag in bag.dags.items()
    },
}
print(json.dumps(out, default=str))

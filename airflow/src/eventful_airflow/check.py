"""
Checks that this Python can run eventful's lag trigger, as the triggerer would: ``python -m eventful_airflow.check``.

Airflow's triggerer imports a trigger by its classpath and, when that fails, logs one line and stays silent (the
watcher never fires). Run this in the triggerer's environment (``docker compose exec airflow python -m
eventful_airflow.check``) to see whether the trigger class loads, whether ``node`` is on the PATH and whether
eventful's ``dist/lag.js`` is where the ``eventful_home`` Variable says. Prints one line per check; exit 0 when
all pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys

from eventful_airflow.settings import parse_time_setting

#: The trigger's classpath, spelled out: importing eventful_airflow.triggers is itself one of the checks.
TRIGGER_CLASSPATH = "eventful_airflow.triggers.KafkaLagTrigger"


def _load_trigger() -> str:
    module, name = TRIGGER_CLASSPATH.rsplit(".", 1)
    getattr(importlib.import_module(module), name)
    return f"the trigger {TRIGGER_CLASSPATH} loads"


def checks(home: str, node: str) -> list[tuple[bool, str]]:
    """Each check's outcome and what it found or what to do."""
    out: list[tuple[bool, str]] = []
    try:
        out.append((True, _load_trigger()))
    except Exception as err:  # what the triggerer would log, plus what to do
        out.append((False, f"cannot load {TRIGGER_CLASSPATH}: {err!r}; install Airflow and eventful-airflow here"))
    found = shutil.which(node)
    out.append((bool(found), f"node: {found}" if found else f"no {node!r} on the PATH: install Node 20"))
    lag = os.path.join(home, "dist", "lag.js")
    exists = os.path.isfile(lag)
    out.append(
        (exists, f"{lag} exists" if exists else f"{lag} is missing: build eventful there or set AIRFLOW_VAR_EVENTFUL_HOME")
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventful_airflow.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=parse_time_setting("eventful_home", "/opt/eventful"))
    parser.add_argument("--node", default="node")
    args = parser.parse_args(argv)
    results = checks(args.home, args.node)
    for ok, line in results:
        print(("ok   " if ok else "FAIL ") + line)
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())

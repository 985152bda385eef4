"""
Loads dags/ with a real Airflow's DagBag as if eventful-airflow were not installed, and prints the import
errors as one JSON object ``{file: error}``: what an operator sees in the UI when they forgot the package.

usage: dagbag_without_package.py <dags folder>
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.simplefilter("ignore")

# None in sys.modules makes every import of the package fail with ModuleNotFoundError(name="eventful_airflow"),
# exactly as in a Python where it is not installed.
sys.modules["eventful_airflow"] = None

try:  # Airflow 3.3+
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
except ImportError:  # older
    from airflow.models import DagBag

    bag = DagBag(dag_folder=sys.argv[1], include_examples=False)

print(json.dumps({str(k): str(v) for k, v in bag.import_errors.items()}))

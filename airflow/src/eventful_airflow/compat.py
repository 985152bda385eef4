"""
The Airflow classes eventful's DAGs use, from whichever Airflow is installed (3.x, or 2.7+).

Each import tries Airflow 3's path first, then Airflow 2's: the same DAG files parse on both.
"""

from __future__ import annotations

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

try:  # Airflow 3, and 2.10+ with the standard provider
    from airflow.providers.standard.operators.bash import BashOperator as AirflowBashOperator
except ImportError:  # Airflow 2.7-2.9
    from airflow.operators.bash import BashOperator as AirflowBashOperator

try:  # Airflow 3
    from airflow.sdk import Asset
except ImportError:  # Airflow 2.4+: the same idea was called Dataset
    from airflow.datasets import Dataset as Asset

try:  # Airflow 3
    from airflow.sdk import BaseOperator
except ImportError:  # Airflow 2
    from airflow.models import BaseOperator

try:  # Airflow 3
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 2
    from airflow.exceptions import AirflowFailException

__all__ = ["DAG", "Asset", "AirflowBashOperator", "AirflowFailException", "BaseOperator"]

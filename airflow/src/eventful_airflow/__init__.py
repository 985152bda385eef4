"""
eventful's Airflow side: the lag trigger (:mod:`eventful_airflow.triggers`) and the building blocks
of eventful's DAG files (:mod:`eventful_airflow.settings`, :mod:`eventful_airflow.assets`,
:mod:`eventful_airflow.tasks`).

Install it into the Python of every Airflow component (DAG processor, scheduler, workers, triggerer):
``pip install ./airflow`` from the eventful repository. Importing this top-level module imports nothing
else, so ``python -c "import eventful_airflow"`` checks the install without loading Airflow.
"""

__version__ = "0.1.0"

"""
The assets eventful's tasks publish: the snapshot location (extract) and one asset per warehouse
table (load). Their URIs are fixed when a DAG file is parsed, from the DAG processor's environment.
"""

from __future__ import annotations

import os

from eventful_airflow.compat import Asset
from eventful_airflow.settings import parse_time_setting


def _warehouse_location() -> tuple[str, int, str]:
    """
    Host, port and database of the warehouse for the tables' asset URIs, at parse time: from
    ``AIRFLOW_CONN_EVENTFUL_POSTGRES`` (JSON or URI, the connection the load task uses) when the
    DAG processor has it, else the docker-compose stack's ``warehouse:5432/warehouse``.
    """
    import json
    from urllib.parse import urlsplit

    host, port, database = "warehouse", 5432, "warehouse"
    text = os.environ.get("AIRFLOW_CONN_EVENTFUL_POSTGRES", "").strip()
    try:
        if text.startswith("{"):
            conn = json.loads(text)
            host = conn.get("host") or host
            port = int(conn.get("port") or port)
            database = conn.get("schema") or database
        elif text:
            url = urlsplit(text)
            host = url.hostname or host
            port = url.port or port
            database = url.path.lstrip("/") or database
    except (ValueError, TypeError):
        pass  # A malformed connection fails the load task with a clear message; the URI keeps its default.
    return host, port, database


def _snapshot_uri(root: str) -> str:
    """The snapshot root as an asset URI: ``s3://bucket/prefix`` as is, a folder as ``file:///path``."""
    if "://" in root:
        return root.rstrip("/")
    return "file://" + os.path.abspath(root)


#: Warehouse tables that load writes (one asset each): the tables the schemas in schemas/ name.
#: Override with the DAG processor's ``EVENTFUL_WAREHOUSE_TABLES`` (comma-separated) when you add schemas.
WAREHOUSE_TABLES = [
    t.strip()
    for t in os.environ.get("EVENTFUL_WAREHOUSE_TABLES", "train_arrivals,incident_events,incidents").split(",")
    if t.strip()
]

#: The snapshot location extract writes to (the ``eventful_snapshot_root`` Variable, read at parse time).
SNAPSHOT_ASSET = Asset(
    _snapshot_uri(parse_time_setting("eventful_snapshot_root", "/opt/airflow/eventful/snapshots"))
)


def _table_assets() -> dict:
    host, port, database = _warehouse_location()
    schema = parse_time_setting("eventful_db_schema", "public")
    # Airflow's Postgres convention: postgres://host:port/database/schema/table.
    return {t: Asset(f"postgres://{host}:{port}/{database}/{schema}/{t}") for t in WAREHOUSE_TABLES}


#: One asset per warehouse table, by table name, e.g. ``TABLE_ASSETS["train_arrivals"]``.
TABLE_ASSETS = _table_assets()

#: Outlets of eventful's tasks, by task id: extract updates the snapshot location, load the tables.
#: Airflow marks them updated only when the task succeeds: a skipped run (exit 99) updates nothing.
TASK_OUTLETS = {"extract": [SNAPSHOT_ASSET], "load": list(TABLE_ASSETS.values())}

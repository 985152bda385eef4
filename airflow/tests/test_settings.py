"""Unit tests of what the DAG files read while they are parsed: parse-time settings and asset URIs."""

from __future__ import annotations

import os
import unittest
from unittest import mock

from eventful_airflow import assets, check
from eventful_airflow.settings import REPORT_HTML, REPORT_HTML_DEFAULT, parse_time_setting


class ParseTimeSettingsTest(unittest.TestCase):
    def test_reads_the_variable_from_the_environment_else_the_default(self):
        with mock.patch.dict(os.environ, {"AIRFLOW_VAR_EVENTFUL_TOPICS": " t1,t2 "}):
            self.assertEqual(parse_time_setting("eventful_topics", "x"), "t1,t2")
        with mock.patch.dict(os.environ, {"AIRFLOW_VAR_EVENTFUL_TOPICS": ""}):
            self.assertEqual(parse_time_setting("eventful_topics", "x"), "x")

    def test_names_tables_by_the_postgres_connection_in_json_or_uri_form(self):
        conn = '{"host": "pg.example", "port": 6543, "schema": "dw"}'
        with mock.patch.dict(os.environ, {"AIRFLOW_CONN_EVENTFUL_POSTGRES": conn}):
            self.assertEqual(assets._warehouse_location(), ("pg.example", 6543, "dw"))
        with mock.patch.dict(os.environ, {"AIRFLOW_CONN_EVENTFUL_POSTGRES": "postgres://u:p@db:5433/wh"}):
            self.assertEqual(assets._warehouse_location(), ("db", 5433, "wh"))

    def test_turns_a_folder_into_a_file_uri_and_keeps_an_s3_uri(self):
        self.assertEqual(assets._snapshot_uri("/data/snapshots"), "file:///data/snapshots")
        self.assertEqual(assets._snapshot_uri("s3://bucket/raw/"), "s3://bucket/raw")


class ReportPathTest(unittest.TestCase):
    def test_defaults_the_report_under_airflow_home_on_the_worker(self):
        self.assertIn("eventful_report_html", REPORT_HTML)
        self.assertTrue(REPORT_HTML_DEFAULT.startswith("${AIRFLOW_HOME:-$HOME/airflow}/"))


class CheckTest(unittest.TestCase):
    def test_names_what_is_missing_where_the_triggerer_would_run(self):
        results = check.checks("/nonexistent", "no-such-node")
        self.assertEqual(
            results,
            [
                (True, "the trigger eventful_airflow.triggers.KafkaLagTrigger loads"),
                (False, "no 'no-such-node' on the PATH: install Node 20"),
                (False, "/nonexistent/dist/lag.js is missing: build eventful there or set AIRFLOW_VAR_EVENTFUL_HOME"),
            ],
        )


if __name__ == "__main__":
    unittest.main()

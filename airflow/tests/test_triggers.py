"""Unit tests of the lag trigger's pure parts: its classpath, command line, payload and argument checks."""

from __future__ import annotations

import unittest

from eventful_airflow import check
from eventful_airflow.triggers import CLASSPATH, KafkaLagTrigger


def trigger(**kwargs) -> KafkaLagTrigger:
    return KafkaLagTrigger(**{"topics": "a,b", "group_id": "g", "home": "/srv/eventful", "min_lag": 10, **kwargs})


class KafkaLagTriggerTest(unittest.TestCase):
    def test_serializes_to_the_classpath_it_is_importable_from(self):
        classpath, kwargs = trigger().serialize()
        self.assertEqual(classpath, f"{KafkaLagTrigger.__module__}.{KafkaLagTrigger.__qualname__}")
        self.assertEqual(classpath, CLASSPATH)
        self.assertEqual(check.TRIGGER_CLASSPATH, CLASSPATH)
        self.assertEqual(KafkaLagTrigger(**kwargs).serialize(), (classpath, kwargs))

    def test_runs_lag_with_settings_only_on_its_command_line(self):
        self.assertEqual(
            trigger(max_age="20m", node="/usr/bin/node").command(),
            ["/usr/bin/node", "/srv/eventful/dist/lag.js", "--topics", "a,b", "--group-id", "g"]
            + ["--min-lag", "10", "--max-age", "20m"],
        )

    def test_refuses_a_trigger_without_a_threshold(self):
        with self.assertRaisesRegex(ValueError, "needs min_lag and/or max_age"):
            trigger(min_lag=None)

    def test_refuses_a_poll_interval_that_is_not_positive(self):
        with self.assertRaisesRegex(ValueError, "poll_interval and timeout must be positive"):
            trigger(poll_interval=0)

    def test_keeps_totals_and_reasons_but_no_partition_detail_in_the_payload(self):
        summary = {
            "status": "crossed",
            "groupId": "g",
            "lag": 12,
            "reasons": ["12 pending events >= --min-lag 10"],
            "topics": [{"topic": "a", "lag": 12, "partitions": [{"partition": 0, "lag": 12}]}],
        }
        payload = KafkaLagTrigger.payload(summary)
        self.assertEqual(payload["lag"], 12)
        self.assertEqual(payload["reasons"], summary["reasons"])
        self.assertNotIn("partitions", payload["topics"][0])


if __name__ == "__main__":
    unittest.main()

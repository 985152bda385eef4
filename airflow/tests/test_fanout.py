"""Unit tests of the fan-out's partition groups: computed from partition counts, checked, handed to extract."""

from __future__ import annotations

import unittest

from eventful_airflow.compat import AirflowFailException
from eventful_airflow.fanout import (
    PartitionExtractOperator,
    PartitionGroupsOperator,
    check_groups,
    groups_by_size,
    parse_group,
    partition_counts,
    split_override,
)


class GroupsBySizeTest(unittest.TestCase):
    def test_cuts_six_partition_topics_in_two_groups_of_three(self):
        self.assertEqual(
            groups_by_size({"a": 6, "b": 6}, 3),
            ["a:0-2,b:0-2", "a:3-5,b:3-5"],
        )

    def test_leaves_a_smaller_topic_out_of_the_later_groups_and_writes_single_partitions_plainly(self):
        self.assertEqual(groups_by_size({"a": 5, "b": 2}, 2), ["a:0-1,b:0-1", "a:2-3", "a:4"])

    def test_covers_every_partition_exactly_once(self):
        groups = groups_by_size({"a": 7, "b": 3}, 3)
        covered = [(t, p) for g in groups for t, ps in parse_group(g).items() for p in ps]
        self.assertEqual(sorted(covered), sorted([("a", p) for p in range(7)] + [("b", p) for p in range(3)]))

    def test_refuses_a_size_below_one(self):
        with self.assertRaisesRegex(ValueError, "positive integer"):
            groups_by_size({"a": 6}, 0)

    def test_reads_the_counts_from_lags_summary(self):
        summary = {"topics": [{"topic": "a", "partitions": [{}, {}, {}]}, {"topic": "b", "partitions": [{}]}]}
        self.assertEqual(partition_counts(summary), {"a": 3, "b": 1})


class CheckGroupsTest(unittest.TestCase):
    def test_accepts_extracts_syntax(self):
        self.assertEqual(parse_group("a.b_c-d:0-2,4,other:1"), {"a.b_c-d": {0, 1, 2, 4}, "other": {1}})
        self.assertEqual(split_override(" a:0-2 ; ;a:3-5 "), ["a:0-2", "a:3-5"])

    def test_refuses_anything_a_shell_could_read_as_more_than_text(self):
        for bad in ["a:0-2; rm -rf /", "a:0'", "a:$(id)", "a:0-2,{{ var.value.x }}", "", "a", "a:0-2\nb:1", "a:2-1"]:
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                parse_group(bad)

    def test_refuses_overlapping_groups_and_no_groups(self):
        with self.assertRaisesRegex(ValueError, r"a\[2\] is in two partition groups"):
            check_groups(["a:0-2", "a:2-5"])
        with self.assertRaisesRegex(ValueError, "no partition groups"):
            check_groups([])


class OperatorsTest(unittest.TestCase):
    def test_the_override_variable_wins_and_is_checked(self):
        op = PartitionGroupsOperator(task_id="partition_groups", override="a:0-2;a:3-5")
        self.assertEqual(op.execute({}), ["a:0-2", "a:3-5"])
        with self.assertRaisesRegex(AirflowFailException, "two partition groups"):
            PartitionGroupsOperator(task_id="partition_groups", override="a:0-2;a:1").execute({})

    def test_extract_gets_its_group_through_the_environment_only(self):
        op = PartitionExtractOperator(task_id="x", bash_command="node extract.js", env={"K": "v"}, partitions="a:0-2")
        self.assertEqual(op.env, {"K": "v", "EVENTFUL_PARTITIONS": "a:0-2"})
        self.assertEqual(op.bash_command, "node extract.js")
        with self.assertRaises(AirflowFailException):
            PartitionExtractOperator(task_id="y", bash_command="node extract.js", partitions="a:0'; id")


if __name__ == "__main__":
    unittest.main()

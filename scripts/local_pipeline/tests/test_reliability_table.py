"""The reliability report's formatting (local_pipeline.reliability.table), on rows made by hand: when a row
holds, the line printed as a scenario ends, and the Markdown table docs/reliability.md is."""

import dataclasses
import unittest

from local_pipeline.reliability.table import COLUMNS, REPORT_HEAD, Row, document, progress_line, table


def row(**overrides):
    """A scenario that held: 600 sent and landed once, 30 malformed set aside."""
    values = {
        "scenario": "S3: 10% of requests fail",
        "sent": 600,
        "landed": 600,
        "duplicates": 0,
        "lost": 0,
        "set_aside": 30,
        "malformed": 30,
        "redeliveries": 12,
        "faults": 87,
        "seconds": 41.6,
        "notes": "3 kills, 2 invocations unanswered",
    }
    values.update(overrides)
    return Row(**values)


class HoldsTest(unittest.TestCase):
    def test_a_row_with_nothing_lost_doubled_or_misplaced_holds(self):
        self.assertTrue(row().holds)

    def test_each_broken_promise_breaks_the_row(self):
        for change in (
            {"lost": 1, "landed": 599},
            {"duplicates": 1},
            {"landed": 599},
            {"set_aside": 29},
            {"set_aside": 31},
            {"filler_damaged": 1},
        ):
            with self.subTest(change):
                self.assertFalse(row(**change).holds)

    def test_redeliveries_faults_and_segments_do_not_break_a_row(self):
        self.assertTrue(row(redeliveries=500, faults=10_000, segments=7).holds)


class ProgressLineTest(unittest.TestCase):
    def test_a_row_that_holds_is_ok_with_its_counts_and_whole_seconds(self):
        self.assertEqual(
            progress_line(row()),
            "ok   S3: 10% of requests fail: sent 600, landed 600, duplicates 0, lost 0, set aside 30, 87 faults, 42 s",
        )

    def test_a_row_that_does_not_hold_is_a_failure(self):
        self.assertTrue(progress_line(row(lost=1, landed=599)).startswith("FAIL S3: 10% of requests fail: "))


class TableTest(unittest.TestCase):
    def test_the_table_is_a_header_a_rule_and_a_line_a_row_in_column_order(self):
        lines = table([row(), row(scenario="no faults", malformed=0, set_aside=0, notes="", seconds=9.4)]).split("\n")
        self.assertEqual(
            lines[0],
            "| scenario | records sent | landed | duplicates | lost | malformed sent | set aside | deliveries again "
            "| faults injected | seconds | notes |",
        )
        self.assertEqual(lines[1], "|---|---|---|---|---|---|---|---|---|---|---|")
        self.assertEqual(
            lines[2],
            "| S3: 10% of requests fail | 600 | 600 | 0 | 0 | 30 | 30 | 12 | 87 | 42 "
            "| 3 kills, 2 invocations unanswered |",
        )
        self.assertEqual(lines[3], "| no faults | 600 | 600 | 0 | 0 | 0 | 0 | 12 | 87 | 9 |  |")
        self.assertEqual(lines[4:], [""])

    def test_every_line_has_a_cell_a_column(self):
        for line in table([row()]).splitlines():
            self.assertEqual(line.count("|"), len(COLUMNS) + 1, line)

    def test_segments_and_filler_damage_are_not_columns(self):
        self.assertEqual(table([row(segments=3, filler_damaged=2)]), table([row()]))

    def test_no_rows_is_the_header_alone(self):
        self.assertEqual(len(table([]).splitlines()), 2)

    def test_the_document_is_the_head_then_the_table(self):
        rows = [row(), dataclasses.replace(row(), scenario="no faults")]
        self.assertEqual(document(rows), REPORT_HEAD + table(rows))
        self.assertTrue(REPORT_HEAD.startswith("# Reliability report\n\n"))
        self.assertTrue(REPORT_HEAD.endswith("\n\n"))


if __name__ == "__main__":
    unittest.main()

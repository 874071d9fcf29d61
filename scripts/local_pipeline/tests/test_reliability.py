"""The reliability scenarios (local_pipeline.reliability) with the real bootstraps: no record lost or
doubled under each fault. Writes the report to target/reliability.md."""

import tempfile
import unittest
from pathlib import Path

from local_pipeline import reliability
from local_pipeline.template import ROOT

from .support import bootstrap, require_loopback_endpoint


class ReliabilityTest(unittest.TestCase):
    rows = []

    def setUp(self):
        require_loopback_endpoint(self)
        self.producer = bootstrap("PRODUCER_BOOTSTRAP", "target/release/producer")
        self.consumer = bootstrap("CONSUMER_BOOTSTRAP", "target/release/consumer")

    @classmethod
    def tearDownClass(cls):
        if cls.rows:
            report = ROOT / "target" / "reliability.md"
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(reliability.REPORT_HEAD + reliability.table(cls.rows))

    def test_every_scenario_loses_and_doubles_nothing(self):
        for scenario in reliability.scenarios():
            with self.subTest(scenario.name), tempfile.TemporaryDirectory(prefix="reliability-") as output:
                row = reliability.run_scenario(scenario, self.producer, self.consumer, Path(output))
                self.rows.append(row)
                self.assertTrue(row.holds, row)


if __name__ == "__main__":
    unittest.main()

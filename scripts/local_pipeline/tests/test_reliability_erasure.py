"""The erasure scenario's pure parts, without moto or the bootstraps: the earlier records in the array's layout, the
person chosen among them and the request made for them (local_pipeline.reliability.eraser), and the checks of where
the erasure left the buckets (eraser_checks), on findings and landing objects made by hand."""

import json
import tempfile
import unittest
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from local_pipeline import erasure
from local_pipeline.reliability import eraser, eraser_checks
from local_pipeline.reliability.runner import run_scenario
from local_pipeline.reliability.scenarios import scenarios

LANDING = "user_sessions/dt=2026-12-06/earlier.ndjson"


def record(number, **changes):
    """A record of a person of their own: every identifier differs from another number's."""
    values = {
        "unique_id": f"00000000-0000-4000-8000-{number:012d}",
        "personal_number": f"1900101{number:06d}",
        "email": f"person{number}@example.ro",
        "iban": f"RO{number:02d}BANK{number:016d}",
        "phone_number": f"07{number:02d} 123 456",
        "accessed_at": "2026-12-06 10:00:00.000000",
    }
    values.update(changes)
    return values


class EarlierRecordsTest(unittest.TestCase):
    def test_the_array_is_the_records_in_the_consumers_layout(self):
        lines = [json.dumps(record(number), separators=(",", ":")) for number in (1, 2, 3)]
        body = eraser.array_of(lines)
        self.assertEqual(json.loads(body), [record(number) for number in (1, 2, 3)])
        rows = body.split(b"\n")
        self.assertEqual((rows[0], rows[-2], rows[-1]), (b"[", b"]", b""))
        self.assertEqual(rows[1:-2], [lines[0].encode() + b",", lines[1].encode() + b",", lines[2].encode()])

    def test_the_person_holds_four_identifiers_no_other_record_holds(self):
        without_iban = record(1, iban="")
        shares_an_email = record(2)
        others = [record(9, email=shares_an_email["email"].upper())]
        earlier = [without_iban, shares_an_email, record(3), record(4)]
        self.assertIs(eraser.chosen_person(earlier, others), earlier[2])

    def test_a_record_sharing_with_another_earlier_one_is_not_chosen(self):
        earlier = [record(1), record(2, phone_number="+40 701 123 456"), record(3)]
        self.assertIs(eraser.chosen_person(earlier, []), earlier[2])

    def test_no_record_of_its_own_stops_the_scenario(self):
        with self.assertRaisesRegex(ValueError, "another seed"):
            eraser.chosen_person([record(1), record(2, personal_number=" 1900101000001")], [])

    def test_the_request_lists_the_four_identifiers_as_typed_each_naming_the_person(self):
        person = record(7)
        body = eraser.request_for(person)
        self.assertEqual(sorted(body), sorted(erasure.FIELDS))
        self.assertEqual(body["ibans"], ["RO07 BANK 0000 0000 0000 0007"])
        self.assertEqual(body["phone_numbers"], ["+40 707 123 456"])
        for key, values in body.items():
            with self.subTest(key):
                self.assertTrue(erasure.named(person, erasure.listed({key: values})))
                self.assertFalse(erasure.named(record(8), erasure.listed({key: values})))


def findings(**overrides):
    """An erasure that held."""
    values = {
        "earlier": 20,
        "receipt_problems": [],
        "places": {
            "array": (1, ["streaming_data.json"]),
            "segments": (0, []),
            "landing": (1, [LANDING]),
            "errors": (0, []),
            "curated": (1, ["curated/state/dt=2026-12-06.json"]),
        },
        "expected_places": {
            **eraser_checks.EXPECTED,
            "array": (1, ["streaming_data.json"]),
            "landing": (1, [LANDING]),
            "curated": (1, None),
        },
        "left": [],
        "tokens": ["k1.a", "k1.b", "k1.c", "k1.d"],
        "tokens_kept": True,
        "forms": 9,
        "objects": 69,
        "found": Counter(),
        "token_rows": 0,
        "curated": (619, 619),
        "landing_problem": "",
        "runs": 3,
        "failed_runs": ["ErasureFailed"],
        "consumed_at_request": 0,
        "consumed_at_array": 33,
        "consumed_at_receipt": 119,
        "array_races_lost": 2,
        "messages": 120,
    }
    values.update(overrides)
    return eraser_checks.Findings(**values)


def places(**changes):
    return {**findings().places, **changes}


class ChecksTest(unittest.TestCase):
    def test_an_erasure_that_held_passes_every_check(self):
        checks = eraser_checks.checks(findings())
        self.assertEqual([what for what, holds in checks if not holds], [])
        self.assertEqual(len(checks), 6)
        self.assertIn("array 1, segments 0, landing 1, errors 0, curated 1", checks[1][0])

    def test_receipt_counts_are_a_floor(self):
        floor = places(array=(0, []), landing=(0, []))
        self.assertTrue(eraser_checks.checks(findings(places=floor))[1][1])

    def test_each_way_of_leaving_the_person_or_losing_another_fails_its_check(self):
        cases = {
            0: [{"receipt_problems": ["ticket-4711 has no receipt"]}, {"left": [erasure.PASS]}],
            1: [
                {"places": places(array=(2, ["streaming_data.json"]))},
                {"places": places(landing=(1, ["user_sessions/dt=2026-12-06/other.ndjson"]))},
                {"places": places(segments=(1, ["streaming_data/00000001.json"]))},
                {"places": places(curated=(1, []))},
                {"places": places(curated=(2, ["curated/state/dt=2026-12-06.json"]))},
            ],
            2: [{"tokens_kept": False}, {"tokens": ["k1.a"]}],
            3: [{"found": Counter({"raw/streaming_data.json (email)": 1})}, {"forms": 0}],
            4: [{"token_rows": 1}, {"curated": None}, {"curated": (620, 619)}],
            5: [{"landing_problem": "19 records where 19 were kept, 1 of them not kept"}],
        }
        for index, changes in cases.items():
            for change in changes:
                with self.subTest(change):
                    checks = eraser_checks.checks(findings(**change))
                    self.assertEqual([number for number, (_, holds) in enumerate(checks) if not holds], [index])

    def test_the_note_says_what_the_erasure_met_and_counted(self):
        note = eraser_checks.note(findings(), 0)
        self.assertIn("120 messages, 0 consumed when the request went in, 33 when the compactor's first write", note)
        self.assertIn("after 2 lost to appends, 119 at the receipt), 3 compactor runs (1 ErasureFailed)", note)
        self.assertIn("receipt: live array 1, landing 1, curated 1; no identifier in 69 objects", note)
        self.assertTrue(note.endswith("the other 19 earlier records there once, first"), note)
        self.assertTrue(eraser_checks.note(findings(), 2).endswith("2 lost, doubled or moved"))
        self.assertNotIn("|", note, "a cell of the report's table")


class LandingTest(unittest.TestCase):
    """The earlier records' landing object as an erasure leaves it."""

    def problem(self, lines):
        earlier = [record(number) for number in (1, 2, 3)]
        chosen = SimpleNamespace(earlier=earlier, person=earlier[1], landing_keys=[LANDING])
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / LANDING
            path.parent.mkdir(parents=True)
            path.write_text("".join(f"{line}\n" for line in lines))
            return eraser_checks.landing_problem(Path(folder), chosen)

    def test_the_persons_line_blank_and_the_others_once_holds(self):
        kept = [json.dumps(record(1)), " " * 40, json.dumps(record(3))]
        self.assertEqual(self.problem(kept), "")

    def test_the_persons_line_left_a_line_lost_or_broken_is_named(self):
        self.assertIn("1 of them not kept", self.problem([json.dumps(record(number)) for number in (1, 2, 3)]))
        self.assertIn("1 records where 2", self.problem([json.dumps(record(1))]))
        self.assertIn("not a record", self.problem([json.dumps(record(1)), '{"unique_id": ', json.dumps(record(3))]))


class ScenarioTest(unittest.TestCase):
    def test_one_scenario_erases_under_faults_while_five_consumers_append(self):
        erasing = [scenario for scenario in scenarios() if scenario.erasure]
        self.assertEqual(len(erasing), 1)
        self.assertEqual(erasing[0].parameters["ConsumerMaxConcurrency"], 5)
        self.assertTrue(erasing[0].rules and erasing[0].during is not None)
        self.assertEqual(erasing[0].initial_array_bytes, 0)

    def test_an_erasure_scenario_needs_the_compactors_bootstrap(self):
        scenario = next(scenario for scenario in scenarios() if scenario.erasure)
        with tempfile.TemporaryDirectory() as output, self.assertRaisesRegex(ValueError, "compactor"):
            run_scenario(scenario, Path("producer"), Path("consumer"), Path(output))


if __name__ == "__main__":
    unittest.main()

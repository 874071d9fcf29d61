"""The consumer's error output read back (local_pipeline.error_output), on objects made by hand: a packed body's
lines, a one-record body's document, tabs and empty texts in a record, objects that do not hold together, and the
earlier format."""

import json
import tempfile
import unittest
from pathlib import Path

from local_pipeline import error_output
from local_pipeline.error_output import MalformedErrorOutput

SENT_AT = "2026-12-06T10:00:00+00:00"
REASONS = {
    "a": {"field": "accessed_at", "problem": "out_of_range", "detail": None},
    "b": {"field": None, "problem": "not_json", "detail": "expected value at line 1 column 1"},
}


def header(layout, rejected, message_id="m1", reasons=None, sent_at=SENT_AT):
    return json.dumps(
        {
            "message_id": message_id,
            "sent_at": sent_at,
            "rejected": rejected,
            "layout": layout,
            "reasons": REASONS if reasons is None else reasons,
        }
    )


def refused(record, code="a", message_id="m1", sent_at=SENT_AT):
    """The record as the reader gives it, with the reason of `code`."""
    return {"message_id": message_id, "sent_at": sent_at, **REASONS[code], "record": record}


class LinesTest(unittest.TestCase):
    def test_each_line_is_a_record_with_the_reason_its_code_names(self):
        body = header("lines", 3) + '\na\t{"accessed_at": "1900-01-01 00:00:00"}\nb\tnot json\na\t{}\n'
        self.assertEqual(
            error_output.records(body.encode()),
            [refused('{"accessed_at": "1900-01-01 00:00:00"}'), refused("not json", "b"), refused("{}")],
        )

    def test_a_tab_inside_a_records_text_stays_in_it(self):
        body = header("lines", 2) + '\na\t{"person_name": "a\tb"}\tafter\nb\t\t\n'
        self.assertEqual(
            [record["record"] for record in error_output.records(body)], ['{"person_name": "a\tb"}\tafter', "\t"]
        )

    def test_an_empty_text_is_a_record_and_only_the_final_newline_ends_the_object(self):
        body = header("lines", 3) + "\nb\t\nb\t \nb\t\n"
        self.assertEqual([record["record"] for record in error_output.records(body)], ["", " ", ""])

    def test_a_record_keeps_its_carriage_return_and_accents(self):
        body = header("lines", 1) + '\nb\t{"person_name": "Zoița"}\r\n'
        self.assertEqual(error_output.records(body.encode())[0]["record"], '{"person_name": "Zoița"}\r')

    def test_a_message_without_a_time_from_sqs_has_none(self):
        body = header("lines", 1, sent_at=None) + "\nb\tx\n"
        self.assertIsNone(error_output.records(body)[0]["sent_at"])


class DocumentTest(unittest.TestCase):
    def test_the_record_is_everything_after_the_first_tab_less_the_final_newline(self):
        document = '{\n  "accessed_at": "+12345-01-01 00:00:00",\n\t"unique_id": "u"\n}\n'
        body = header("document", 1) + "\na\t" + document + "\n"
        self.assertEqual(error_output.records(body), [refused(document)])

    def test_an_empty_document_is_an_empty_record(self):
        self.assertEqual(error_output.records(header("document", 1) + "\nb\t\n"), [refused("", "b")])


class MalformedTest(unittest.TestCase):
    def test_what_does_not_hold_together_is_refused(self):
        cases = {
            "more records than the header says": header("lines", 1) + "\na\tx\na\ty\n",
            "fewer": header("lines", 2) + "\na\tx\n",
            "a code the header does not list": header("lines", 1) + "\nz\tx\n",
            "a line without a tab": header("lines", 1) + "\nax\n",
            "a layout the reader does not know": header("columns", 1) + "\na\tx\n",
            "a document with more than one record": header("document", 2) + "\na\tx\n",
        }
        for what, body in cases.items():
            with self.subTest(what), self.assertRaises(MalformedErrorOutput):
                error_output.records(body)

    def test_a_header_that_is_not_json_is_refused(self):
        with self.assertRaises(ValueError):
            error_output.records(b"not a header\na\tx\n")


class EarlierFormatTest(unittest.TestCase):
    def test_a_json_object_a_line_is_read_as_it_is(self):
        lines = [
            {"message_id": "m1", "line": 2, "sent_at": SENT_AT, "field": None, "problem": "not_json", "record": "x"},
            {"message_id": "m1", "line": 5, "sent_at": SENT_AT, "field": "email", "problem": "missing", "record": "{}"},
        ]
        body = "\n".join(json.dumps(line) for line in lines) + "\n"
        self.assertEqual(error_output.records(body.encode()), lines)


class ReadTest(unittest.TestCase):
    def test_the_objects_of_a_copied_bucket_are_read_in_the_order_given(self):
        with tempfile.TemporaryDirectory() as folder:
            objects = {
                "errors/dt=2026-12-06/b.txt": header("lines", 1, message_id="m2") + "\nb\tsecond\n",
                "errors/dt=2026-12-05/a.txt": header("document", 1) + "\na\tfirst\n",
            }
            for key, body in objects.items():
                (Path(folder) / key).parent.mkdir(parents=True, exist_ok=True)
                (Path(folder) / key).write_text(body)
            found = error_output.read(Path(folder), list(objects))
        self.assertEqual(found, [refused("second", "b", message_id="m2"), refused("first")])


if __name__ == "__main__":
    unittest.main()

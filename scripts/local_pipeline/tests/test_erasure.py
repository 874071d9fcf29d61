"""Erasure on request (--erase N) without the compactor: the normalisation that decides which records a request
names, the persons chosen by a seed and the requests made for them, and the search for an identifier in an
object's bytes. Then the checks of erasure_report over buckets copied by hand, erased by a stand-in for the
compactor that keeps the contract (records blanked in place, the lake rewritten, receipts written): a clean
erasure passes every check, and each way of leaving a person behind fails its own. No endpoint needed."""

import base64
import gzip
import hashlib
import json
import random
import shutil
import tempfile
import unittest
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import duckdb

from local_pipeline import erasure, erasure_report, lake
from local_pipeline.compaction import Compaction
from local_pipeline.pipeline import Outcome
from local_pipeline.resources import Resources

from .test_lake import CURATED, RAW, landing_record, template


def person(number):
    """A record of a person of its own: every identifier differs from another number's."""
    record = landing_record(f"00000000-0000-4000-8000-{number:012d}", datetime(2026, 11, 29, 12, 0, number))
    record.update(
        personal_number=f"1900101{number:06d}",
        email=f"person{number}@example.ro",
        phone_number=f"07{number:02d} 123 456",
        iban=f"RO{number:02d}BANK{number:016d}",
    )
    return record


class NormalisationTest(unittest.TestCase):
    def test_each_identifier_is_normalised_as_the_compactor_normalises_it(self):
        cases = [
            ("personal_number", " 1900101000001\t", "1900101000001"),
            ("email", "  Ana.Pop@Example.RO ", "ana.pop@example.ro"),
            ("iban", "ro49 aaaa 1b31\t0075 9384 0000", "RO49AAAA1B31007593840000"),
            ("phone_number", "+40 722 123 456", "0722123456"),
            ("phone_number", "0722-123-456", "0722123456"),
            ("phone_number", "(0722) 123.456", "0722123456"),
            # Not a Romanian number in international form: the digits as they are.
            ("phone_number", "+44 20 7946 0958", "442079460958"),
            ("phone_number", "0040 722 123 456", "0040722123456"),
            ("mac_address", "60:AE:6B:C5:C3:FA", "60:AE:6B:C5:C3:FA"),
        ]
        for field, value, expected in cases:
            with self.subTest(field=field, value=value):
                self.assertEqual(erasure.normalised(field, value), expected)

    def test_an_identifier_as_an_operator_types_it_normalises_to_the_records(self):
        for record in (person(7), landing_record("id", datetime(2026, 11, 29))):
            for field in erasure.FIELDS.values():
                with self.subTest(field=field, value=record[field]):
                    typed = erasure.typed(field, record[field])
                    self.assertEqual(erasure.normalised(field, typed), erasure.normalised(field, record[field]))
                    # Written otherwise, unless the record has it as typed already (+40 ...).
                    self.assertTrue(typed != record[field] or record[field].startswith("+40"), typed)
        self.assertEqual(erasure.typed("phone_number", "0722 123 456"), "+40 722 123 456")
        self.assertEqual(erasure.typed("iban", "RO49AAAA1B31007593840000"), "RO49 AAAA 1B31 0075 9384 0000")

    def test_a_record_is_named_by_any_identifier_a_request_lists_in_any_written_form(self):
        record = person(3)
        for key, value in [
            ("personal_numbers", " 1900101000003 "),
            ("emails", "PERSON3@EXAMPLE.RO"),
            ("ibans", "ro03 bank 0000 0000 0000 0003"),
            ("phone_numbers", "+40 703 123 456"),
        ]:
            with self.subTest(key=key):
                self.assertTrue(erasure.named(record, erasure.listed({key: [value]})))
        other = erasure.listed({"emails": ["person33@example.ro"], "personal_numbers": ["1900101000033"]})
        self.assertFalse(erasure.named(record, other))
        # A record without the field (the filler of an initial array) is named by nothing.
        self.assertFalse(erasure.named({"unique_id": "f", "filler": "ff"}, erasure.listed({"emails": ["a@b.ro"]})))


class PersonsAndRequestsTest(unittest.TestCase):
    RECORDS: ClassVar[list] = [person(number) for number in range(40)]

    def test_the_same_records_and_seed_give_the_same_persons_whatever_their_order(self):
        shuffled = list(self.RECORDS)
        random.Random(5).shuffle(shuffled)
        chosen = erasure.persons(self.RECORDS, 5, seed=12)
        self.assertEqual(len(chosen), 5)
        self.assertEqual(erasure.persons(shuffled, 5, seed=12), chosen)
        self.assertNotEqual(erasure.persons(self.RECORDS, 5, seed=13), chosen)

    def test_persons_share_no_identifier_and_hold_all_four(self):
        namesake = person(1) | {"unique_id": "namesake", "personal_number": "1900101999999"}
        filler = {"unique_id": "filler", "filler": "f" * 40}
        records = [person(1), namesake, filler, person(2) | {"iban": " "}]
        chosen = erasure.persons(records, 5, seed=1)
        # The namesake shares person 1's e-mail address and phone: one of the two; the filler has no
        # identifier and the last record no IBAN.
        self.assertEqual(len(chosen), 1)
        self.assertIn(chosen[0]["unique_id"], {records[0]["unique_id"], "namesake"})

    def test_the_requests_list_in_turn_all_four_the_cnp_alone_email_and_phone_every_second_as_typed(self):
        chosen = erasure.persons(self.RECORDS, 6, seed=3)
        made = erasure.requests(chosen)
        self.assertEqual(list(made), [f"person-{number}" for number in range(1, 7)])
        self.assertEqual(
            [list(body) for body in made.values()],
            [
                ["personal_numbers", "emails", "ibans", "phone_numbers"],
                ["personal_numbers"],
                ["emails", "phone_numbers"],
            ]
            * 2,
        )
        for index, (record, body) in enumerate(zip(chosen, made.values(), strict=True)):
            for key, values in body.items():
                field = erasure.FIELDS[key]
                with self.subTest(person=index + 1, key=key):
                    self.assertEqual(len(values), 1)
                    self.assertEqual(values[0] == record[field], index % 2 == 0)
                    self.assertEqual(erasure.normalised(field, values[0]), erasure.normalised(field, record[field]))
            self.assertTrue(erasure.named(record, erasure.listed(body)))
        self.assertEqual(json.loads(json.dumps(made)), made)

    def test_a_run_with_fewer_persons_gives_fewer_requests(self):
        self.assertEqual(len(erasure.requests(erasure.persons(self.RECORDS[:2], 3, seed=1))), 2)

    def test_a_run_report_says_what_is_pending(self):
        self.assertEqual(
            erasure.pending({"erasure": {"pending": ["person-2"], "finished": ["person-1"]}}), ["person-2"]
        )
        self.assertEqual(erasure.pending({"partitions": 1}), [])
        self.assertEqual(erasure.report({"errorType": "ErasureRequestRefused"}), {})
        # The name it was put as, whether the compactor keeps the key's .json or not.
        self.assertEqual([erasure.request_name(name) for name in ("person-1", "person-1.json")], ["person-1"] * 2)


class AppearsTest(unittest.TestCase):
    def test_an_identifier_is_found_where_it_stands_whole_in_any_case(self):
        found = [
            ("personal_number", "1900101000003", b'{"personal_number":"1900101000003",'),
            ("personal_number", "1900101000003", b"1900101000003"),
            ("phone_number", "0703123456", b"a\t0703123456\n"),
            ("phone_number", "0703 123 456", b'"phone_number":"0703 123 456"'),
            ("email", "person3@example.ro", b'"email":"Person3@Example.RO"}'),
            ("email", "person3@example.ro", b"<person3@example.ro>"),
            ("iban", "RO03BANK0000000000000003", b"iban ro03bank0000000000000003."),
            # The second occurrence stands whole where the first does not.
            ("email", "ana@example.ro", b"diana@example.ro ana@example.ro"),
        ]
        for field, needle, data in found:
            with self.subTest(needle=needle, data=data):
                self.assertTrue(erasure_report.appears(needle, data, field))

    def test_an_identifier_within_a_longer_one_is_not_found(self):
        missed = [
            ("personal_number", "1900101000003", b"21900101000003"),
            ("personal_number", "1900101000003", b"19001010000031"),
            ("phone_number", "0703123456", b"00703123456"),
            ("email", "ana@example.ro", b"diana@example.ro"),
            ("email", "ana@example.ro", b"ana@example.ro.com"),
            ("iban", "RO03BANK0000000000000003", b"XRO03BANK0000000000000003"),
            ("iban", "RO03BANK0000000000000003", b"k1.aRO03BANK0000000000000003b"),
            ("personal_number", "1900101000003", b""),
            ("email", "", b"anything"),
        ]
        for field, needle, data in missed:
            with self.subTest(needle=needle, data=data):
                self.assertFalse(erasure_report.appears(needle, data, field))

    def test_every_form_of_a_listed_identifier_is_searched_for(self):
        record = person(4) | {"email": " Person4@Example.ro"}
        forms = erasure_report.needles(
            [{"emails": ["PERSON4@EXAMPLE.RO"], "phone_numbers": ["+40 704 123 456"]}], [record]
        )
        self.assertEqual(
            forms,
            {
                ("email", "PERSON4@EXAMPLE.RO"),
                ("email", "person4@example.ro"),
                ("email", "Person4@Example.ro"),
                ("phone_number", "+40 704 123 456"),
                ("phone_number", "0704123456"),
                ("phone_number", "0704 123 456"),
            },
        )

    def test_a_gzip_object_is_read_inflated_and_a_parquet_file_by_its_strings_too(self):
        folder = Path(tempfile.mkdtemp(prefix="erasure-"))
        self.addCleanup(shutil.rmtree, folder)
        (folder / "a.json.gz").write_bytes(gzip.compress(b'{"email":"person4@example.ro"}\n'))
        duckdb.sql(
            f"COPY (SELECT 'person4@example.ro' AS email, 7 AS n) TO '{folder / 'b.parquet'}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        connection = duckdb.connect()
        for name in ("a.json.gz", "b.parquet"):
            with self.subTest(name):
                self.assertTrue(
                    erasure_report.appears(
                        "person4@example.ro", erasure_report.contents(folder / name, connection), "email"
                    )
                )
        found, objects, parquet = erasure_report.scan({"raw": folder}, {("email", "person4@example.ro")})
        self.assertEqual(
            (dict(found), objects, parquet), ({"raw/a.json.gz (email)": 1, "raw/b.parquet (email)": 1}, 2, 1)
        )


def token(kind, value):
    """A keyed token as the compactor writes one (a stand-in key)."""
    digest = hashlib.sha256(f"{kind}\x1f{value}".encode()).digest()[:12]
    return "k1." + base64.urlsafe_b64encode(digest).decode().rstrip("=")


class ReceiptTest(unittest.TestCase):
    def test_a_receipt_names_a_token_an_identifier_listed_and_counts_every_place(self):
        body = {"emails": ["A@b.ro", "a@B.ro "], "personal_numbers": ["1900101000003"]}
        places = {place: {"records": 0, "objects": []} for place in erasure_report.PLACES}
        receipt = {
            "request": "person-1",
            "received_at": "2026-11-29T12:00:00.123456789Z",
            "finished_at": "2026-11-29T12:00:00.2Z",
            "persons": {"emails": [token("email", "a@b.ro")], "personal_numbers": [token("personal_number", "1")]},
            "places": places,
        }
        self.assertEqual(erasure_report.receipt_problems("person-1", receipt, body, "pseudonymised"), [])
        raw = receipt | {
            "persons": {"emails": ["sha256:" + "a" * 64], "personal_numbers": ["sha256:" + "B_" * 21 + "c"]}
        }
        self.assertEqual(erasure_report.receipt_problems("person-1", raw, body, "raw"), [])
        self.assertEqual(
            erasure_report.receipt_problems("person-1", raw, body, "pseudonymised"),
            [
                "person-1's receipt has 1 personal_numbers tokens for 1 listed",
                "person-1's receipt has 1 emails tokens for 1 listed",
            ],
        )
        wrong = receipt | {"finished_at": "2026-11-29T11:00:00Z", "places": {"array": {"records": 1, "objects": []}}}
        self.assertEqual(
            erasure_report.receipt_problems("person-1", wrong, body | {"ibans": ["RO49 AAAA"]}, "pseudonymised"),
            [
                "person-1's receipt has no RFC 3339 received_at and finished_at, in that order",
                "person-1's receipt has 0 ibans tokens for 1 listed",
                *(
                    f"person-1's receipt does not count its records and objects in {place}"
                    for place in erasure_report.PLACES[1:]
                ),
            ],
        )
        self.assertEqual(erasure_report.receipt_problems("person-2", None, body, "raw"), ["person-2 has no receipt"])


def array(records):
    """A JSON array as the consumer writes it: `[`, a record a line, `,` between them, `]`."""
    return ("[\n" + ",\n".join(json.dumps(record) for record in records) + "\n]\n").encode()


def blank_array(body, named):
    """`body` (array's layout) with the records `named` says go blanked in place, each with the comma that
    would be left without a record on one side."""
    lines = body.decode().split("\n")
    records = [index for index, line in enumerate(lines) if line.startswith("{")]
    gone = {index for index in records if named(json.loads(lines[index].rstrip(",")))}
    for index in gone:
        lines[index] = " " * len(lines[index])
    kept = [index for index in records if index not in gone]
    if kept and lines[kept[-1]].endswith(","):
        lines[kept[-1]] = lines[kept[-1]][:-1] + " "
    return "\n".join(lines).encode()


def blank_lines(body, named):
    return b"\n".join(
        b" " * len(line) if line.strip() and named(json.loads(line)) else line for line in body.split(b"\n")
    )


def keys_of(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


class ErasureChecksTest(unittest.TestCase):
    """erasure_report.checks over a raw and a curated bucket copied by hand before the erasure, and after a
    stand-in compactor (`erase`) kept the contract."""

    RAW, CURATED, DT = RAW, CURATED, "2026-11-29"

    def setUp(self):
        folder = Path(tempfile.mkdtemp(prefix="erasure-"))
        self.addCleanup(shutil.rmtree, folder)
        self.template = template()
        self.prefix = self.template.parameters["CuratedPrefix"]
        self.before = {self.RAW: folder / "raw", self.CURATED: folder / "curated"}
        self.after = {self.RAW: folder / "after" / "raw", self.CURATED: folder / "after" / "curated"}
        # Twelve persons, and a thirteenth record with person 2's e-mail address in capitals.
        self.records = [person(number) for number in range(12)]
        self.records.append(person(40) | {"email": self.records[2]["email"].upper()})
        raw = self.before[self.RAW]
        self.put(raw, "streaming_data/00000001.json", array(self.records[:6]))
        self.put(raw, "streaming_data.json", array(self.records[6:]))
        self.landing = [f"user_sessions/dt={self.DT}/a.json", f"user_sessions/dt={self.DT}/b.json.gz"]
        self.put(raw, self.landing[0], b"".join(json.dumps(record).encode() + b"\n" for record in self.records[:7]))
        self.put(
            raw,
            self.landing[1],
            gzip.compress(b"".join(json.dumps(record).encode() + b"\n" for record in self.records[7:])),
        )
        self.put(raw, "errors/message.json", b'{"rejected":1,"layout":"lines","reasons":{}}\nr1\tnot a record\n')
        self.write_lake(self.before[self.CURATED], self.records, "a")
        # All four of person 1's identifiers, person 4's CNP as typed, person 2's e-mail address and phone,
        # which name the thirteenth record too: three records in the segment, one in the live array.
        self.requests = erasure.requests([self.records[1], self.records[4], self.records[2]])

    def put(self, folder, key, body):
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(body)

    def write_lake(self, folder, records, name):
        """The curated table: one Parquet file of the records' pseudonymised rows, listed by the manifest."""
        _, columns = lake.table(self.template, lake.CURATED_TABLE)
        rows = [self.row(record, columns) for record in records]
        key = f"{self.prefix}data/dt={self.DT}/{name}.parquet"
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect()
        connection.execute(f"CREATE TABLE rows ({', '.join(f'{name} {kind}' for name, kind in columns.items())})")
        connection.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * len(columns))})", rows)
        connection.execute(f"COPY rows TO '{folder / key}' (FORMAT parquet)")
        manifest = f"{self.prefix}tables/user_sessions/dt={self.DT}/manifest"
        self.put(folder, manifest, f"s3://{self.CURATED}/{key}\n".encode())

    def row(self, record, columns):
        values = dict.fromkeys(columns)
        values.update(
            {field: token(field, erasure.normalised(field, record[field])) for field in erasure.FIELDS.values()}
        )
        values.update(
            unique_id=token("unique_id", record["unique_id"]),
            accessed_at=datetime.fromisoformat(record["accessed_at"]),
            session_duration=record["session_duration"],
            birth_year=1990,
            sex="M",
            county="Sălaj",
        )
        return [values[name] for name in columns]

    def erase(self, leave=()):
        """The stand-in compactor: copies the buckets, then takes every request as the contract says, leaving
        what `leave` names undone ("array", "landing", "curated", "request")."""
        for bucket, folder in self.before.items():
            shutil.copytree(folder, self.after[bucket])
        raw, curated = self.after[self.RAW], self.after[self.CURATED]
        wanted = {name: erasure.listed(body) for name, body in self.requests.items()}
        places = {name: {place: [0, set()] for place in erasure_report.PLACES} for name in self.requests}

        def named(record, place, key):
            names = [name for name, listed in wanted.items() if erasure.named(record, listed)]
            for name in names:
                places[name][place][0] += 1
                places[name][place][1].add(key)
            return bool(names) and place not in leave

        for key, place in (("streaming_data/00000001.json", "segments"), ("streaming_data.json", "array")):
            path = raw / key
            path.write_bytes(blank_array(path.read_bytes(), lambda record, p=place, k=key: named(record, p, k)))
        path = raw / self.landing[0]
        path.write_bytes(blank_lines(path.read_bytes(), lambda record: named(record, "landing", self.landing[0])))
        path = raw / self.landing[1]
        body = gzip.decompress(path.read_bytes())
        path.write_bytes(gzip.compress(blank_lines(body, lambda record: named(record, "landing", self.landing[1]))))
        kept = [record for record in self.records if not named(record, "curated", "data")]
        if "curated" in leave:
            kept = self.records
        shutil.rmtree(curated / self.prefix)
        self.write_lake(curated, kept, "b")
        for name, body in self.requests.items():
            if name == "person-1" and "request" in leave:
                self.put(raw, f"{erasure.REQUESTS}{name}.json", json.dumps(body).encode())
                continue
            persons = {
                key: [token(erasure.FIELDS[key], erasure.normalised(erasure.FIELDS[key], value)) for value in values]
                for key, values in body.items()
            }
            receipt = {
                # Named by its key under erasure/requests/, as the compactor names it.
                "request": f"{name}.json",
                "received_at": "2026-11-29T12:00:00Z",
                "finished_at": "2026-11-29T12:00:01.5Z",
                "persons": persons,
                "places": {
                    place: {"records": count, "objects": sorted(keys)} for place, (count, keys) in places[name].items()
                },
            }
            self.put(raw, f"{erasure.RECEIPTS}{name}.json", json.dumps(receipt).encode())
        tokens = [
            token(erasure.FIELDS[key], erasure.normalised(erasure.FIELDS[key], value))
            for body in self.requests.values()
            for key, values in body.items()
            for value in values
        ]
        self.put(raw, erasure.ERASED, json.dumps({"tokens": tokens}).encode())
        report = {
            "pending": [],
            "finished": [f"{name}.json" for name in self.requests],
            "refused": [],
            "records_removed": 9,
        }
        return erasure.Erasure(
            seed=8,
            asked=3,
            bucket=self.RAW,
            requests=self.requests,
            runs=[Compaction(True, {"erasure": report}, 12, {})],
            folders=self.after,
            bucket_keys={bucket: keys_of(folder) for bucket, folder in self.after.items()},
        )

    def outcome(self):
        raw = self.before[self.RAW]
        return Outcome(
            resources=Resources(queue=None, dead_letter_queue=None, bucket=self.RAW, secret=""),
            lake=raw,
            objects=0,
            producer_summary={"sent": len(self.records)},
            malformed_sent=0,
            mixed_ids=[],
            mixed_messages=0,
            queue_depth=0,
            dead_letter_depth=0,
            data_key="streaming_data.json",
            array=self.records,
            segments=1,
            partition_keys=self.landing,
            partition_records=erasure_report.landed(raw, self.landing),
            error_prefix="errors/",
            error_keys=["errors/message.json"],
            error_records=[],
            mapping={},
            mapping_errors=[],
            elapsed_seconds=1.0,
            landed_seconds=1.0,
            drained=True,
            usage={},
            producer_billed_ms=0,
            logs=raw,
            compaction=None,
            folders=self.before,
            bucket_keys={bucket: keys_of(folder) for bucket, folder in self.before.items()},
            curated_bucket=self.CURATED,
            curated=self.before[self.CURATED],
            curated_prefix=self.prefix,
        )

    def failing(self, done):
        return [what for what, holds in erasure_report.checks(self.template, self.outcome(), done) if not holds]

    def test_an_erasure_that_keeps_the_contract_passes_every_check(self):
        done = self.erase()
        checks = erasure_report.checks(self.template, self.outcome(), done)
        self.assertEqual([what for what, holds in checks if not holds], [])
        self.assertEqual(len(checks), 3 + 2 + 3 + 1)
        lines = erasure_report.summary_lines(done)
        self.assertTrue(lines[0].startswith("requests      3 persons chosen by the seed 8"), lines[0])
        self.assertIn("run 1: 3 finished, 0 pending, 0 refused, 9 records removed", lines[1])
        self.assertTrue(lines[2].startswith("receipts      3 of 3: removed from array 1 in 1 objects, segments 3"))
        # The array's records and a blank line where each erased one was, the file's length kept.
        live = self.after[self.RAW] / "streaming_data.json"
        self.assertEqual(live.stat().st_size, (self.before[self.RAW] / "streaming_data.json").stat().st_size)

    def test_a_record_left_in_the_array_fails_the_search_and_the_history(self):
        failing = self.failing(self.erase(leave=("array",)))
        self.assertTrue(failing[0].startswith("no identifier the requests listed is in either bucket"), failing)
        self.assertIn(f"in {self.RAW}/streaming_data.json", failing[0])
        self.assertTrue(failing[1].startswith("the array's history holds its 13 records less the"), failing)
        self.assertEqual(len(failing), 2, failing)

    def test_lines_left_in_the_landing_zone_fail_the_search_the_landing_zone_and_the_receipts(self):
        failing = self.failing(self.erase(leave=("landing",)))
        self.assertEqual(len(failing), 3, failing)
        self.assertIn(f"{self.RAW}/user_sessions/", failing[0])
        self.assertTrue(failing[1].startswith("the landing zone holds its 13 records less the 4 erased"), failing)
        self.assertIn("wrong: landing (4, not 0)", failing[2])

    def test_rows_left_in_the_curated_table_fail_the_tokens_the_count_and_the_receipts(self):
        failing = self.failing(self.erase(leave=("curated",)))
        self.assertEqual(len(failing), 3, failing)
        self.assertTrue(failing[0].startswith("no curated row holds a receipt's token in its column"), failing)
        self.assertTrue(failing[1].startswith("the curated table holds its 13 records less the"), failing)
        self.assertIn("wrong: curated", failing[2])

    def test_a_request_left_without_its_receipt_fails_the_receipts(self):
        failing = self.failing(self.erase(leave=("request",)))
        self.assertTrue(any("person-1 has no receipt" in what and "is left" in what for what in failing), failing)

    def test_a_segment_that_is_no_longer_a_json_array_is_named(self):
        done = self.erase()
        segment = self.after[self.RAW] / "streaming_data/00000001.json"
        segment.write_bytes(segment.read_bytes().replace(b"[", b" ", 1))
        failing = self.failing(done)
        self.assertEqual(len(failing), 1, failing)
        self.assertIn("streaming_data/00000001.json is not a JSON array", failing[0])


if __name__ == "__main__":
    unittest.main()

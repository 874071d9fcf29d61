"""The privacy scan of a curated bucket copied by hand: a clean lake passes every check, and each kind of leak
(a raw id, address text, a CNP, an IBAN, an e-mail address, microseconds, a county outside the list, text in
a dropped column) fails its own check, wherever it is: a listed or unlisted Parquet file, a manifest, a
state. No endpoint needed."""

import base64
import json
import random
import tempfile
import unittest
import uuid
from datetime import datetime
from pathlib import Path

import duckdb

from local_pipeline import privacy

# The curated row's columns as the compactor writes them (UserSessionsTable in template.yaml).
COLUMNS = {
    "unique_id": "VARCHAR",
    "accessed_at": "TIMESTAMP",
    "session_duration": "INTEGER",
    "birth_year": "INTEGER",
    "sex": "VARCHAR",
    "county": "VARCHAR",
    "personal_number": "VARCHAR",
    "email": "VARCHAR",
    "phone_number": "VARCHAR",
    "mac_address": "VARCHAR",
    "ip_address": "VARCHAR",
    "iban": "VARCHAR",
    "person_name": "VARCHAR",
    "user_name": "VARCHAR",
    "address": "VARCHAR",
    "birth_date": "DATE",
}
# A valid CNP (its check digit is right) and IBAN (the standard Romanian example).
CNP = "2641111318492"
IBAN = "RO49AAAA1B31007593840000"
ADDRESS = "Aleea Garoafelor nr. 68, 454474 Zalău, jud. Sălaj"


def token(rng):
    return "k1." + base64.urlsafe_b64encode(rng.randbytes(12)).decode().rstrip("=")


def raw_record(rng, address=ADDRESS):
    """A record as it landed: the fields the scan looks for."""
    return {
        "unique_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "person_name": "Diana Stoica",
        "user_name": "dianastoica",
        "address": address,
        "personal_number": CNP,
        "iban": IBAN,
    }


def curated_row(rng, **overrides):
    """A pseudonymised row: tokens, the time to the millisecond, a county from the list."""
    row = {name: token(rng) for name in ("unique_id", "personal_number", "email", "phone_number", "mac_address")} | {
        "ip_address": token(rng),
        "iban": token(rng),
        "accessed_at": datetime(2026, 11, 29, 6, 47, 16, 810000),
        "session_duration": 1071,
        "birth_year": 1964,
        "sex": "F",
        "county": "Sălaj",
        "person_name": None,
        "user_name": None,
        "address": None,
        "birth_date": None,
    }
    return row | overrides


def write_parquet(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE rows ({', '.join(f'{name} {kind}' for name, kind in COLUMNS.items())})")
    connection.executemany(
        f"INSERT INTO rows VALUES ({', '.join('?' for _ in COLUMNS)})",
        [[row[name] for name in COLUMNS] for row in rows],
    )
    connection.execute(f"COPY rows TO '{path}' (FORMAT parquet, COMPRESSION zstd)")


class PrivacyScanTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="privacy-")
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)
        self.rng = random.Random(7)
        self.records = [raw_record(self.rng) for _ in range(20)]
        self.rows = [curated_row(self.rng) for _ in self.records]
        self.data = self.folder / "curated/data/dt=2026-11-29/0a1b2c3d4e5f60718293a4b5c6d7e8f9.parquet"
        self.manifest = self.folder / "curated/tables/user_sessions/dt=2026-11-29/manifest"
        self.state = self.folder / "curated/state/dt=2026-11-29.json"

    def lake(self, rows=None, manifest_extra="", state_extra=None):
        """A curated bucket: one data file, its manifest, the partition's state and the key ledger."""
        write_parquet(self.data, self.rows if rows is None else rows)
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        self.manifest.write_text(f"s3://curated-bucket/{self.data.relative_to(self.folder)}\n{manifest_extra}")
        state = {
            "generation": 1,
            "files": [{"key": str(self.data.relative_to(self.folder)), "records": len(self.rows), "bytes": 1}],
            "compacted": [f"user_sessions/dt=2026-11-29/{uuid.UUID(int=5, version=5)}.ndjson"],
            **(state_extra or {}),
        }
        self.state.parent.mkdir(parents=True, exist_ok=True)
        self.state.write_text(json.dumps(state))
        ledger = {
            "keys": [{"version": 1, "fingerprint": token(self.rng)[3:] * 3, "first_used": "2026-11-29T07:00:00Z"}]
        }
        (self.state.parent / "keys.json").write_text(json.dumps(ledger))

    def failing(self):
        return [
            what.split(" (")[0].split(";")[0] for what, holds in privacy.checks(self.folder, self.records) if not holds
        ]

    def test_a_clean_lake_passes_every_check(self):
        self.lake()
        checks = privacy.checks(self.folder, self.records)
        self.assertEqual([what for what, holds in checks if not holds], [])
        self.assertEqual(len(checks), 8)
        self.assertIn("(20 rows, 0 with microseconds)", checks[5][0])
        self.assertIn("(20 rows with a county, 0 without)", checks[6][0])

    def test_a_raw_lake_is_not_scanned(self):
        self.assertEqual(
            privacy.checks(self.folder, self.records, "raw"),
            [("privacy scan skipped: LakePersonalData=raw keeps personal data in the lake", True)],
        )

    def test_a_raw_unique_id_is_found_in_a_column_or_a_state_in_any_spelling(self):
        raw = self.records[3]["unique_id"]
        self.rows[0]["unique_id"] = raw
        self.lake()
        self.assertEqual(
            self.failing(),
            [
                "no raw unique_id of the run in the curated bucket",
                "identifiers are keyed tokens k<version>.<base64url>, sex is F or M, name, user name and address "
                "are null",
            ],
        )
        self.rows[0]["unique_id"] = token(self.rng)
        self.lake(state_extra={"note": raw.replace("-", "").upper()})
        self.assertEqual(self.failing(), ["no raw unique_id of the run in the curated bucket"])

    def test_address_text_is_found_but_a_county_is_not_address_text(self):
        self.lake(rows=[*self.rows[1:], curated_row(self.rng, county="Caraș-Severin")])
        self.assertEqual(self.failing(), [])
        self.lake(manifest_extra="# Aleea Garoafelor\n")
        self.assertEqual(self.failing(), ["no address or name text of the run"])
        self.lake(rows=[*self.rows[1:], curated_row(self.rng, county="Garoafelor nr. 68")])
        self.assertEqual(
            self.failing(),
            ["no address or name text of the run", "county is one of the 41 counties or București, or null"],
        )

    def test_a_person_name_in_a_dropped_column_fails_the_text_and_the_vocabulary(self):
        self.lake(rows=[*self.rows[1:], curated_row(self.rng, person_name="Diana Stoica")])
        self.assertEqual(
            self.failing(),
            [
                "no address or name text of the run",
                "identifiers are keyed tokens k<version>.<base64url>, sex is F or M, name, user name and address "
                "are null",
            ],
        )

    def test_a_valid_cnp_iban_or_email_is_found_anywhere(self):
        cases = {
            "no valid CNP in the curated bucket": {"state_extra": {"note": f"x {CNP} y"}},
            "no valid IBAN in the curated bucket": {"manifest_extra": "RO49 AAAA 1B31 0075 9384 0000\n"},
            "no e-mail address in the curated bucket": {"state_extra": {"note": "ioana.pop@gmail.com"}},
        }
        for check, leak in cases.items():
            with self.subTest(check):
                self.lake(**leak)
                self.assertEqual(self.failing(), [check])

    def test_numbers_that_are_not_a_valid_cnp_or_iban_are_not_found(self):
        self.assertTrue(privacy.valid_cnp(CNP))
        self.assertFalse(privacy.valid_cnp("2641111318493"), "the check digit")
        self.assertFalse(privacy.valid_cnp("2641311318492"), "month 13")
        self.assertTrue(privacy.valid_iban(IBAN))
        self.assertTrue(privacy.valid_iban("RO49 AAAA 1B31 0075 9384 0000"))
        self.assertFalse(privacy.valid_iban("RO49AAAA1B31007593840001"))
        self.lake(state_extra={"note": "2641111318493 RO49AAAA1B31007593840001 20261129101010123"})
        self.assertEqual(self.failing(), [])

    def test_an_unlisted_data_file_is_scanned_too(self):
        self.lake()
        write_parquet(self.data.with_name("orphan.parquet"), [curated_row(self.rng, email="ioana.pop@gmail.com")])
        self.assertEqual(
            self.failing(),
            [
                "no e-mail address in the curated bucket",
                "identifiers are keyed tokens k<version>.<base64url>, sex is F or M, name, user name and address "
                "are null",
            ],
        )

    def test_microseconds_and_an_unknown_county_or_sex_fail_their_checks(self):
        self.lake(rows=[*self.rows[1:], curated_row(self.rng, accessed_at=datetime(2026, 11, 29, 6, 47, 16, 810786))])
        self.assertEqual(self.failing(), ["accessed_at is kept to the millisecond"])
        self.lake(rows=[*self.rows[1:], curated_row(self.rng, county="Springfield", sex="X")])
        self.assertEqual(
            self.failing(),
            [
                "county is one of the 41 counties or București, or null",
                "identifiers are keyed tokens k<version>.<base64url>, sex is F or M, name, user name and address "
                "are null",
            ],
        )
        self.lake(rows=[*self.rows[1:], curated_row(self.rng, county=None, sex=None)])
        self.assertEqual(self.failing(), [])

    def test_random_tokens_raise_no_alarm(self):
        streets = ["Garoafelor", "Florilor", "Mihai Eminescu", "Ștefan cel Mare", "Trandafirilor", "Republicii"]
        towns = ["Cluj-Napoca", "Zalău", "Pitești", "Timișoara", "Constanța", "Bistrița"]
        records = [
            raw_record(
                self.rng,
                f"Strada {self.rng.choice(streets)} nr. {self.rng.randrange(1, 250)}, "
                f"{self.rng.randrange(100000, 999999)} {self.rng.choice(towns)}, jud. Cluj",
            )
            for _ in range(2000)
        ]
        scanner = privacy.Scanner(records)
        for _ in range(20_000):
            scanner.scan(token(self.rng), "tokens")
        self.assertEqual(
            {kind: finding.count for kind, finding in scanner.findings.items()}, dict.fromkeys(scanner.KINDS, 0)
        )

    def test_grams_hold_a_letter_and_leave_county_names_out(self):
        grams = privacy.text_grams(["Str. A nr. 1, 400123 Cluj-Napoca, jud. Caraș-Severin"])
        self.assertIn("Cluj-Nap", grams)
        self.assertIn("400123 C", grams)
        self.assertNotIn("Caraș-Se", grams)
        self.assertNotIn(", 400123", grams, "no letter")
        self.assertTrue(all(len(gram) == privacy.GRAM for gram in grams))


if __name__ == "__main__":
    unittest.main()

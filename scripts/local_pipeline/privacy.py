"""The privacy scan of the curated bucket's copy: every string it holds (every string column of every Parquet
file, whether a manifest lists it or not, and the whole text of every other object: manifests, partition
states, the key ledger) searched for what would let an analyst find a person again:
- a raw `unique_id` of the run, hyphenated or not, in either case;
- text of the run's addresses and person names: any GRAM consecutive characters of one (a street, a town,
  a postal code with its town, a name with its surname) outside the name of a county, which the curated
  table may hold;
- a valid CNP (13 digits, a sex digit, a date, a county code and the right check digit), a valid IBAN (its
  country, check digits and mod 97), an e-mail address;
and the curated columns held to their vocabularies: keyed tokens `k<version>.<base64url>` where identifiers
were, `accessed_at` to the millisecond, `county` one of Romania's 41 counties or București (or null), `sex`
F or M (or null), and no name, user name or street address.

A token is HMAC output in base64url, so it holds any given 8 characters with odds of 1 in 64^8 (2.8 * 10^14)
a position, and only runs of text without a space, comma, dot or diacritic can be in one: a run of 20,000
records has about 1.7 million token positions and 128 such runs of address and name text (measured), so a
false alarm has odds of about 1 in a million. User names are not searched for (a million of them, each a run
of its own, would make a false alarm likely); the user_name column must be null, like the name and address
columns."""

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# The counties and București as the compactor writes them: the list it reads (compactor/src/county.rs).
COUNTIES = tuple(
    (Path(__file__).resolve().parents[2] / "compactor" / "src" / "counties.txt")
    .read_text(encoding="utf-8")
    .splitlines()
)
# The curated row's string columns by what they may hold.
TOKEN_COLUMNS = ("unique_id", "personal_number", "email", "phone_number", "mac_address", "ip_address", "iban")
DROPPED_COLUMNS = ("person_name", "user_name", "address")
SEXES = ("F", "M")
# A keyed token: the key's version, then an HMAC's first bytes in base64url (12 bytes: 16 characters; at
# most the whole HMAC-SHA256, 43).
TOKEN = re.compile(r"k[1-9][0-9]*\.[A-Za-z0-9_-]{16,43}")
# Shorter runs of address text than this are not searched for: a county's name is allowed, and short
# strings meet random tokens too often.
GRAM = 8

HEX = r"[0-9a-fA-F]"
# Overlapping candidates: 32 hex digits, with a UUID's hyphens or without.
UUID = re.compile(rf"(?=({HEX}{{8}}-?{HEX}{{4}}-?{HEX}{{4}}-?{HEX}{{4}}-?{HEX}{{12}}))")
CNP = re.compile(r"(?<![0-9])[1-9][0-9]{12}(?![0-9])")
CNP_WEIGHTS = "279146358279"
# County codes a CNP may carry: the counties 01-46 (Bucharest's sectors 41-46) and 51, 52 (Călărași, Giurgiu).
CNP_COUNTIES = {*range(1, 47), 51, 52}
# An IBAN printed whole or in groups of four, bounded by anything but a letter or digit.
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def valid_cnp(digits):
    """A Romanian CNP: sex digit 1-9, a month and day that can be, a county code, and its check digit."""
    if not re.fullmatch(r"[1-9][0-9]{12}", digits):
        return False
    month, day, county = int(digits[3:5]), int(digits[5:7]), int(digits[7:9])
    if not (1 <= month <= 12 and 1 <= day <= 31 and county in CNP_COUNTIES):
        return False
    remainder = sum(int(digit) * int(weight) for digit, weight in zip(digits, CNP_WEIGHTS, strict=False)) % 11
    return int(digits[12]) == (1 if remainder == 10 else remainder)


def valid_iban(text):
    """An IBAN, spaces aside: 15-34 letters and digits whose rearranged number is 1 mod 97."""
    compact = text.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _ascii(text):
    return text.translate(str.maketrans("ăâîșşțţĂÂÎȘŞȚŢ", "aaissttAAISSTT"))


def text_grams(texts):
    """The GRAM-character runs of `texts` that hold a letter and are not within a county's name (as the
    compactor writes it, or without diacritics)."""
    allowed = [*COUNTIES, *map(_ascii, COUNTIES)]
    grams = set()
    for text in texts:
        grams.update(text[start : start + GRAM] for start in range(len(text) - GRAM + 1))
    return {gram for gram in grams if any(char.isalpha() for char in gram) and not any(gram in c for c in allowed)}


def _normalised_id(text):
    return text.replace("-", "").lower()


@dataclass
class Finding:
    """What was found where: counts by place (a file, or a file's column)."""

    places: Counter = field(default_factory=Counter)

    def add(self, place):
        self.places[place] += 1

    @property
    def count(self):
        return sum(self.places.values())

    def detail(self):
        if not self.places:
            return ""
        place, count = self.places.most_common(1)[0]
        return f"; {self.count} found, {count} in {place}"


class Scanner:
    """Searches strings for the run's raw ids and text, and for CNPs, IBANs and e-mail addresses."""

    KINDS = ("unique_id", "text", "cnp", "iban", "email")

    def __init__(self, records):
        self.ids = {_normalised_id(str(record["unique_id"])) for record in records if record.get("unique_id")}
        texts = {record.get(name) for record in records for name in ("address", "person_name")}
        self.grams = text_grams(text for text in texts if isinstance(text, str))
        self.findings = {kind: Finding() for kind in self.KINDS}
        self.strings = 0

    def scan(self, text, place):
        self.strings += 1
        if any(_normalised_id(match.group(1)) in self.ids for match in UUID.finditer(text)):
            self.findings["unique_id"].add(place)
        if any(text[start : start + GRAM] in self.grams for start in range(len(text) - GRAM + 1)):
            self.findings["text"].add(place)
        if any(valid_cnp(match.group(0)) for match in CNP.finditer(text)):
            self.findings["cnp"].add(place)
        if any(valid_iban(match.group(0)) for match in IBAN.finditer(text)):
            self.findings["iban"].add(place)
        if EMAIL.search(text):
            self.findings["email"].add(place)


@dataclass
class Columns:
    """What the curated Parquet files' columns hold, beside the strings the scanner reads."""

    rows: int = 0
    # Rows whose accessed_at has microseconds.
    sub_millisecond: int = 0
    # Rows with a county from the list, with none, and with something else (by file and column).
    counties: int = 0
    no_county: int = 0
    # Values outside a column's vocabulary: not a token, not F or M, not null where the column is dropped,
    # an unknown string column.
    outside: Finding = field(default_factory=Finding)


def scan(folder, records):
    """(Scanner, Columns) over the copied curated bucket `folder`, the run's `records` (the landed ones)
    giving the raw ids and text to look for."""
    scanner, columns = Scanner(records), Columns()
    folder = Path(folder)
    connection = duckdb.connect()
    for path in sorted(item for item in folder.rglob("*") if item.is_file()):
        place = str(path.relative_to(folder))
        if path.suffix == ".parquet":
            _parquet(connection, path, place, scanner, columns)
        else:
            scanner.scan(path.read_text(errors="replace"), place)
    return scanner, columns


def _literal(text):
    return "'" + str(text).replace("'", "''") + "'"


def _parquet(connection, path, place, scanner, columns):
    source = f"read_parquet({_literal(path)})"
    kinds = dict(row[:2] for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall())
    columns.rows += connection.sql(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    if "accessed_at" in kinds:
        columns.sub_millisecond += connection.sql(
            f"SELECT count(*) FROM {source} WHERE epoch_us(accessed_at) % 1000 <> 0"
        ).fetchall()[0][0]
    for name in (name for name, kind in kinds.items() if kind == "VARCHAR"):
        where = f"{place}: {name}"
        values = connection.sql(f'SELECT "{name}", count(*) FROM {source} GROUP BY ALL').fetchall()
        for value, rows in values:
            if value is None:
                columns.no_county += rows if name == "county" else 0
                continue
            scanner.scan(value, where)
            if name == "county" and value in COUNTIES:
                columns.counties += rows
            elif not _in_vocabulary(name, value):
                columns.outside.add(where)


def _in_vocabulary(name, value):
    """Whether a string column may hold `value`: a token where an identifier was, F or M in sex. A dropped
    column holds nothing, the county list is the caller's, and any other string column is unknown."""
    if name in TOKEN_COLUMNS:
        return TOKEN.fullmatch(value) is not None
    return name == "sex" and value in SEXES


def checks(folder, records, personal_data="pseudonymised"):
    """(what is checked, whether it holds) for the curated bucket's copy `folder`: the scan's findings, then
    the columns' vocabularies. With LakePersonalData=raw the curated table keeps personal data by design,
    and there is nothing to check."""
    if personal_data != "pseudonymised":
        return [(f"privacy scan skipped: LakePersonalData={personal_data} keeps personal data in the lake", True)]
    scanner, columns = scan(folder, records)
    found = scanner.findings
    scanned = f"{scanner.strings:,} distinct strings"
    return [
        (
            f"no raw unique_id of the run in the curated bucket ({len(scanner.ids):,} ids, {scanned})"
            + found["unique_id"].detail(),
            not found["unique_id"].count,
        ),
        (
            f"no address or name text of the run ({GRAM} characters or more outside a county's name) in the "
            f"curated bucket ({len(scanner.grams):,} runs of text)" + found["text"].detail(),
            not found["text"].count,
        ),
        ("no valid CNP in the curated bucket" + found["cnp"].detail(), not found["cnp"].count),
        ("no valid IBAN in the curated bucket" + found["iban"].detail(), not found["iban"].count),
        ("no e-mail address in the curated bucket" + found["email"].detail(), not found["email"].count),
        (
            f"accessed_at is kept to the millisecond ({columns.rows:,} rows, {columns.sub_millisecond:,} with "
            "microseconds)",
            columns.rows > 0 and columns.sub_millisecond == 0,
        ),
        (
            f"county is one of the 41 counties or București, or null ({columns.counties:,} rows with a county, "
            f"{columns.no_county:,} without)" + found_outside(columns, "county"),
            columns.counties + columns.no_county == columns.rows and not found_outside(columns, "county"),
        ),
        (
            "identifiers are keyed tokens k<version>.<base64url>, sex is F or M, name, user name and address "
            "are null" + found_outside(columns, "county", other=True),
            not found_outside(columns, "county", other=True),
        ),
    ]


def found_outside(columns, name, other=False):
    """The outside-vocabulary findings of the column `name` (of every other column with `other`), as a
    detail; empty when there are none."""
    places = Counter(
        {place: count for place, count in columns.outside.places.items() if place.endswith(f": {name}") != other}
    )
    return Finding(places).detail()

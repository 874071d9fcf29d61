"""Where the reliability suite's erasure (eraser.py) left the buckets, as the run copied them once its compactor runs
were over:
the request finished, its receipt counting at most the person's record in the live array, its landing object and the
curated lake and nothing elsewhere (receipt counts are a floor, docs/erasure.md: a write whose answer a fault lost is
found clean and not counted again); erasure/erased.json keeping the receipt's tokens; no form of the person's
identifiers in any object of either bucket (erasure_report's search); no curated row with the receipt's tokens, in any
data file of the curated bucket, and every row of the table once; and the earlier records' landing objects holding
the others, once each. The runner counts the array's history (runner.py: the earlier records kept there once and
first, the run's each once)."""

import json
from collections import Counter
from dataclasses import dataclass

import duckdb

from local_pipeline import erasure, erasure_report

from .eraser import REQUEST

# What the receipt may count in each place at most: (records, objects), None for objects not known beforehand (the
# curated partition's state).
EXPECTED = {"segments": (0, []), "errors": (0, [])}


@dataclass
class Findings:
    earlier: int
    receipt_problems: list
    # {place: (records, sorted objects)} as the receipt counts them, and what it may count at most.
    places: dict
    expected_places: dict
    # Keys left under erasure/requests/ and erasure/refused/, and a pass under way.
    left: list
    tokens: list
    tokens_kept: bool
    forms: int
    objects: int
    # {"bucket/key (field)": identifiers found}.
    found: Counter
    token_rows: int
    # (rows, distinct unique_ids) of the curated table, or None when it does not read.
    curated: tuple | None
    # What is wrong with the earlier records' landing objects, or "".
    landing_problem: str
    runs: int
    failed_runs: list
    consumed_at_request: int | None
    consumed_at_array: int | None
    consumed_at_receipt: int | None
    array_races_lost: int
    messages: int


def find(outcome, eraser):
    """The findings of the erasure `eraser` (finished) in the run `outcome`, whose buckets were copied after it."""
    folders = outcome.folders
    raw, raw_keys = folders[outcome.resources.bucket], outcome.bucket_keys[outcome.resources.bucket]
    got = erasure_report.receipts(raw, [REQUEST])
    receipt = got[REQUEST]
    tokens = [token for values in erasure_report.receipt_tokens(got).values() for token in values]
    erased = raw / erasure.ERASED
    erased_text = erased.read_text(errors="replace") if erased.is_file() else ""
    forms = erasure_report.needles([eraser.request], [eraser.person])
    found, objects, _ = erasure_report.scan(folders, forms)
    files = sorted(folders[outcome.curated_bucket].rglob("*.parquet"))
    token_rows = erasure_report.token_rows(duckdb.connect(), files, erasure_report.receipt_tokens(got))
    return Findings(
        earlier=len(eraser.earlier),
        receipt_problems=erasure_report.receipt_problems(REQUEST, receipt, eraser.request, "pseudonymised"),
        places={place: erasure_report.removed(receipt, place) for place in erasure_report.PLACES},
        expected_places={
            **EXPECTED,
            "array": (1, [outcome.data_key]),
            "landing": (1, [eraser.person_landing_key]),
            "curated": (1, None),
        },
        left=[key for key in raw_keys if key.startswith((erasure.REQUESTS, erasure.REFUSED)) or key == erasure.PASS],
        tokens=tokens,
        tokens_kept=bool(erased_text) and all(token in erased_text for token in tokens),
        forms=len(forms),
        objects=objects,
        found=found,
        token_rows=token_rows,
        curated=erasure_report.curated_records(folders, eraser.template),
        landing_problem=landing_problem(raw, eraser),
        runs=len(eraser.runs),
        failed_runs=[run.response.get("errorType", "?") for run in eraser.runs if not run.ok],
        consumed_at_request=eraser.consumed_at_request,
        consumed_at_array=eraser.consumed_at_array,
        consumed_at_receipt=eraser.consumed_at_receipt,
        array_races_lost=eraser.array_races_lost,
        messages=outcome.producer_summary["messages"],
    )


def landing_problem(folder, eraser):
    """What is wrong with the earlier records' landing objects in the raw bucket copied to `folder`: each line a
    record or blank, every earlier record but the person's there once; "" when nothing is."""
    try:
        landed = erasure_report.landed(folder, eraser.landing_keys)
    except ValueError as error:
        return str(error)
    kept = Counter(_canonical(record) for record in eraser.earlier if record is not eraser.person)
    found = Counter(map(_canonical, landed))
    if found != kept:
        return f"{found.total()} records where {kept.total()} were kept, {(found - kept).total()} of them not kept"
    return ""


def checks(findings):
    """(what is checked, whether it holds)."""
    counts = ", ".join(f"{place} {records}" for place, (records, _) in findings.places.items())
    curated = "it does not read" if findings.curated is None else "{} rows, {} distinct".format(*findings.curated)
    return [
        (
            "the request has its receipt (its name, times, a token an identifier, what it removed from each place) "
            "and nothing is left pending, refused or under way"
            + (f"; {findings.receipt_problems[0]}" if findings.receipt_problems else "")
            + (f"; {findings.left[0]} is left" if findings.left else ""),
            not findings.receipt_problems and not findings.left,
        ),
        (
            f"the receipt counts at most the person's record in the live array, its landing object and the curated "
            f"lake, and nothing elsewhere ({counts})",
            all(_counted(findings.places[place], expected) for place, expected in findings.expected_places.items()),
        ),
        (
            f"{erasure.ERASED} keeps the receipt's {len(findings.tokens)} tokens",
            len(findings.tokens) == len(erasure.FIELDS) and findings.tokens_kept,
        ),
        (
            f"no form of the person's identifiers is in either bucket ({findings.forms} forms, {findings.objects} "
            "objects read whole)" + "".join(f"; {count} in {place}" for place, count in findings.found.most_common(1)),
            findings.forms > 0 and not findings.found,
        ),
        (
            f"no curated row holds the receipt's tokens ({findings.token_rows} do) and each row is there once "
            f"({curated})",
            findings.token_rows == 0 and findings.curated is not None and findings.curated[0] == findings.curated[1],
        ),
        (
            f"the earlier records' landing objects hold the {findings.earlier - 1} others once each, the person's line "
            "blank" + (f"; {findings.landing_problem}" if findings.landing_problem else ""),
            not findings.landing_problem,
        ),
    ]


def note(findings, damaged):
    """The report's note: what the erasure met, what its receipt counted, and whether the other earlier records are
    still first in the array, once each (`damaged` counts those lost, doubled or moved)."""
    failed = Counter(findings.failed_runs)
    runs = f"{findings.runs} compactor runs" + (
        f" ({', '.join(f'{count} {kind}' for kind, count in sorted(failed.items()))})" if failed else ""
    )
    places = findings.places
    return (
        f"1 person of {findings.earlier} earlier records erased while the consumers appended (of {findings.messages} "
        f"messages, {findings.consumed_at_request} consumed when the request went in, {findings.consumed_at_array} "
        f"when the compactor's first write of the live array landed after {findings.array_races_lost} lost to appends, "
        f"{findings.consumed_at_receipt} at the receipt), {runs} (the first before the run); receipt: live array "
        f"{places['array'][0]}, landing {places['landing'][0]}, curated {places['curated'][0]}; no identifier in "
        f"{findings.objects} objects; the other {findings.earlier - 1} earlier records "
        + ("there once, first" if damaged == 0 else f"{damaged} lost, doubled or moved")
    )


def _counted(said, at_most):
    """Whether a receipt's (records, objects) in a place are within (records, objects) `at_most`: a floor of them."""
    records, objects = at_most
    if objects is None:
        return said[0] <= records and len(said[1]) <= min(records, 1) and (said[0] > 0) == bool(said[1])
    return said[0] <= records and set(said[1]) <= set(objects) and (said[0] > 0) == bool(said[1])


def _canonical(record):
    return json.dumps(record, sort_keys=True)

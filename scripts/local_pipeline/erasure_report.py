"""What --erase did (erasure.py) and whether the compactor kept issue 25's promise, from the buckets copied before
the erasure (the run's outcome) and after it:
1. every request has its receipt, and none is left pending or was refused;
2. no identifier a request listed is in either bucket in any form (normalised, as the request wrote it, as a
   record held it): every object is read whole (gunzipped), a Parquet file's strings through DuckDB as well;
   with pseudonyms, no curated row holds a receipt's token in its column, where the erased records' rows held
   them before;
3. every other record is where it was, once: the array's history (its segments, then the live array, each still
   a JSON array) is what it was less the erased records, in order; the landing zone holds its records less the
   erased ones; the curated table counts its records less the erased ones, each once;
4. the receipts count what left the array's history, request by request, and the landing zone and the curated
   table in all.

An identifier is found only where it stands whole, in any case: a CNP or a phone number not within a longer run
of digits, an IBAN not within a longer run of letters and digits, an e-mail address not within a longer one."""

import gzip
import json
import re
import string
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from . import erasure, lake, pipeline, privacy

# The places a receipt counts what it removed from.
PLACES = ("array", "segments", "landing", "errors", "curated")
# A receipt's token of an identifier when the lake keeps personal data raw: a SHA-256, in hex or base64url.
SHA256 = re.compile(r"sha256:(?:[0-9a-f]{64}|[A-Za-z0-9_-]{43})")
# What may not stand right before or after an identifier found in text, or it is part of a longer one.
CONTINUES = {
    "personal_number": frozenset(string.digits.encode()),
    "phone_number": frozenset(string.digits.encode()),
    "iban": frozenset((string.ascii_letters + string.digits).encode()),
    "email": frozenset((string.ascii_letters + string.digits + "._%+-").encode()),
}


def appears(needle, data, field):
    """Whether the identifier `needle` (text) of the record field `field` stands whole in `data` (bytes), in
    any case."""
    target, data = needle.lower().encode(), data.lower()
    continues = CONTINUES[field]
    start = data.find(target)
    while target and start != -1:
        end = start + len(target)
        if (start == 0 or data[start - 1] not in continues) and (end == len(data) or data[end] not in continues):
            return True
        start = data.find(target, start + 1)
    return False


def needles(bodies, records):
    """{(field, text)}: every form of the identifiers the request `bodies` list: as listed, normalised, and as
    the `records` they name held them."""
    found = set()
    for body in bodies:
        for key, values in body.items():
            field = erasure.FIELDS[key]
            found.update((field, text) for value in values for text in (value, erasure.normalised(field, value)))
        wanted = erasure.listed(body)
        for record in records:
            if erasure.named(record, wanted):
                found.update((field, record[field]) for field in wanted if isinstance(record.get(field), str))
    return {(field, text.strip()) for field, text in found if text.strip()}


def _literal(text):
    return "'" + str(text).replace("'", "''") + "'"


def contents(path, connection):
    """The bytes to search of the object copied to `path`: its bytes, gunzipped when they are gzip, and for a
    Parquet file also its string columns' values, a line each, as DuckDB reads them."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if path.suffix != ".parquet":
        return data
    source = f"read_parquet({_literal(path)})"
    columns = [row[0] for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall() if row[1] == "VARCHAR"]
    values = [
        value
        for column in columns
        for (value,) in connection.sql(f'SELECT DISTINCT "{column}" FROM {source}').fetchall()
        if value is not None
    ]
    return data + b"\n" + "\n".join(values).encode()


def scan(folders, forms):
    """(Counter {"bucket/key (field)": identifiers found}, objects read, Parquet files read): where any of
    `forms` ({(field, text)}) stands in the copied buckets `folders` ({bucket: folder})."""
    found, objects, parquet = Counter(), 0, 0
    connection = duckdb.connect()
    for bucket, folder in folders.items():
        for path in sorted(item for item in Path(folder).rglob("*") if item.is_file()):
            data = contents(path, connection)
            objects += 1
            parquet += path.suffix == ".parquet"
            for field, text in forms:
                if appears(text, data, field):
                    found[f"{bucket}/{path.relative_to(folder)} ({field})"] += 1
    return found, objects, parquet


def history(folder, data_key, keys):
    """[(key, records)]: the array's sealed segments in order, then the live array, each read as the JSON
    array it must be; ValueError naming the object that is not one."""
    read = []
    for key in pipeline.segment_keys(data_key, lambda key: key in keys) + ([data_key] if data_key in keys else []):
        try:
            read.append((key, json.loads((Path(folder) / key).read_bytes())))
        except ValueError as error:
            raise ValueError(f"{key} is not a JSON array: {error}") from None
    return read


def landed(folder, keys):
    """The records of the landing objects `keys`, a line each (gunzipped), where a line of spaces is none;
    ValueError naming the object with a line that is neither."""
    records = []
    for key in keys:
        data = (Path(folder) / key).read_bytes()
        if key.endswith(".gz"):
            data = gzip.decompress(data)
        try:
            records.extend(json.loads(line) for line in data.splitlines() if line.strip())
        except ValueError as error:
            raise ValueError(f"{key} has a line that is not a record: {error}") from None
    return records


def receipts(folder, names):
    """{name: the receipt's JSON, or None when there is none (or it does not parse)}."""
    found = {}
    for name in names:
        path = Path(folder) / f"{erasure.RECEIPTS}{name}.json"
        try:
            found[name] = json.loads(path.read_bytes())
        except (OSError, ValueError):
            found[name] = None
    return found


def _time(text):
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def receipt_problems(name, receipt, body, personal_data):
    """What is wrong with the request `name`'s receipt: its name and times, a token for each identifier the
    request `body` listed (a keyed token, or sha256:<hex> when the lake keeps personal data raw) and none
    for what it did not list, and what it removed from each place."""
    if not isinstance(receipt, dict):
        return [f"{name} has no receipt"]
    problems = []
    if erasure.request_name(receipt.get("request")) != name:
        problems.append(f"{name}'s receipt names the request {receipt.get('request')!r}")
    received, finished = _time(receipt.get("received_at")), _time(receipt.get("finished_at"))
    if received is None or finished is None or finished < received:
        problems.append(f"{name}'s receipt has no RFC 3339 received_at and finished_at, in that order")
    shape = privacy.TOKEN if personal_data == "pseudonymised" else SHA256
    persons, wanted = receipt.get("persons") or {}, erasure.listed(body)
    for key, field in erasure.FIELDS.items():
        tokens = persons.get(key) or []
        expected = len(wanted.get(field, ()))
        if len(tokens) != expected or not all(isinstance(token, str) and shape.fullmatch(token) for token in tokens):
            problems.append(f"{name}'s receipt has {len(tokens)} {key} tokens for {expected} listed")
    places = receipt.get("places") or {}
    for place in PLACES:
        counted = places.get(place)
        if not (
            isinstance(counted, dict)
            and isinstance(counted.get("records"), int)
            and isinstance(counted.get("objects"), list)
        ):
            problems.append(f"{name}'s receipt does not count its records and objects in {place}")
    return problems


def removed(receipt, place):
    """(records, sorted objects) a receipt says it removed from `place`; (0, []) when it says nothing."""
    counted = ((receipt or {}).get("places") or {}).get(place)
    if not isinstance(counted, dict):
        return 0, []
    return counted.get("records", 0), sorted(counted.get("objects") or [])


def token_rows(connection, paths, tokens):
    """Rows of the Parquet files `paths` that hold one of `tokens` ({column: [tokens]}) in its column."""
    rows = 0
    for path in paths:
        source = f"read_parquet({_literal(path)})"
        columns = {row[0] for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        tests = [
            f'"{column}" IN ({", ".join(map(_literal, values))})'
            for column, values in tokens.items()
            if values and column in columns
        ]
        if tests:
            rows += connection.sql(f"SELECT count(*) FROM {source} WHERE {' OR '.join(tests)}").fetchall()[0][0]
    return rows


def summary_lines(done):
    """The erasure's lines: the requests, each compactor run, what the receipts say was removed and the
    buckets copied after it."""
    requests = "; ".join(f"{name} {', '.join(body)}" for name, body in done.requests.items())
    lines = [
        f"requests      {len(done.requests)} persons chosen by the seed {done.seed}, a request each, every second "
        f"one's identifiers as an operator might type them: {requests or 'none'}"
    ]
    for number, run in enumerate(done.runs, 1):
        if not run.ok:
            lines.append(
                f"compactor     run {number} failed after {run.billed_ms} ms: {run.response.get('errorType')}: "
                f"{run.response.get('errorMessage')}"
            )
            continue
        found = erasure.report(run.response)
        lines.append(
            f"compactor     run {number}: {len(found.get('finished') or [])} finished, "
            f"{len(found.get('pending') or [])} pending, {len(found.get('refused') or [])} refused, "
            f"{found.get('records_removed', 0)} records removed; {run.billed_ms} ms"
        )
    got = receipts(done.folders[done.bucket], done.requests)
    totals = []
    for place in PLACES:
        counts = [removed(receipt, place) for receipt in got.values()]
        objects = {key for _, keys in counts for key in keys}
        totals.append(f"{place} {sum(records for records, _ in counts)} in {len(objects)} objects")
    present = sum(receipt is not None for receipt in got.values())
    lines.append(f"receipts      {present} of {len(got)}: removed from {', '.join(totals)}")
    copies = "; ".join(
        f"{name}: {len(done.bucket_keys[name])} objects in {folder.parent.name}/{folder.name}/"
        for name, folder in done.folders.items()
    )
    lines.append(f"buckets       after the erasure {copies}")
    return lines


@dataclass
class Records:
    """The records before and after the erasure, where the checks count them."""

    data_key: str
    # The array's history: [(key, records)] of its segments, then the live array.
    history_before: list
    history_after: list
    landing_before: list
    landing_after: list
    landing_keys: list
    # Why the history, or the landing zone, after the erasure could not be read, or "".
    history_unreadable: str
    landing_unreadable: str
    # (rows, distinct unique_ids) of the curated table, or None when it did not read.
    curated_before: tuple | None
    curated_after: tuple | None


def read_records(template, outcome, done):
    """The records of the run `outcome` before the erasure `done` and after it."""
    raw = outcome.resources.bucket
    before, after = outcome.folders[raw], done.folders[raw]
    landed_keys = set(outcome.partition_keys)
    landing_keys = [key for key in done.bucket_keys[raw] if key in landed_keys]
    history_before, history_after, landing_after, history_unreadable, landing_unreadable = [], [], [], "", ""
    if outcome.data_key:
        history_before = history(before, outcome.data_key, set(outcome.bucket_keys[raw]))
        try:
            history_after = history(after, outcome.data_key, set(done.bucket_keys[raw]))
        except ValueError as error:
            history_unreadable = str(error)
    try:
        landing_after = landed(after, landing_keys)
    except ValueError as error:
        landing_unreadable = str(error)
    return Records(
        data_key=outcome.data_key,
        history_before=history_before,
        history_after=history_after,
        landing_before=outcome.partition_records,
        landing_after=landing_after,
        landing_keys=landing_keys,
        history_unreadable=history_unreadable,
        landing_unreadable=landing_unreadable,
        curated_before=curated_records(outcome.folders, template),
        curated_after=curated_records(done.folders, template),
    )


def checks(template, outcome, done, personal_data="pseudonymised"):
    """(check, holds) of the erasure `done` (erasure.run's) after the run `outcome`, in the order above."""
    got = receipts(done.folders[done.bucket], done.requests)
    found = read_records(template, outcome, done)
    wanted = [erasure.listed(body) for body in done.requests.values()]

    def gone(record):
        return any(erasure.named(record, listed) for listed in wanted)

    return [
        *finished(done, got, personal_data),
        *nowhere(template, outcome, done, got, found, gone, personal_data),
        *kept(found, gone),
        counted(done, got, found),
    ]


def finished(done, got, personal_data):
    """Check 1: the runs finished every request and refused none, each request has its receipt and none is
    left, and erasure/erased.json keeps every receipt's tokens."""
    names = set(done.requests)
    reports = [erasure.report(run.response) for run in done.runs]
    done_names = {erasure.request_name(name) for found in reports for name in found.get("finished") or []}
    refused = {erasure.request_name(name) for found in reports for name in found.get("refused") or []}
    last_pending = erasure.pending(done.runs[-1].response) if done.runs else sorted(names)
    problems = [
        problem
        for name, body in done.requests.items()
        for problem in receipt_problems(name, got.get(name), body, personal_data)
    ]
    left = [key for key in done.bucket_keys[done.bucket] if key.startswith((erasure.REQUESTS, erasure.REFUSED))]
    erased_path = done.folders[done.bucket] / erasure.ERASED
    erased_text = erased_path.read_text(errors="replace") if erased_path.is_file() else ""
    tokens = [token for values in receipt_tokens(got).values() for token in values]
    return [
        (
            f"the compactor finished the {len(names)} requests (for the {done.asked} persons asked for) in "
            f"{len(done.runs)} runs (at most "
            f"{erasure.MAX_RUNS}), each answering with its erasure report ({len(done_names & names)} finished, "
            f"{len(last_pending)} pending at the end, {len(refused)} refused)",
            len(names) == done.asked
            and bool(done.runs)
            and all(run.ok and found for run, found in zip(done.runs, reports, strict=True))
            and done_names == names
            and not last_pending
            and not refused,
        ),
        (
            f"each request has its receipt in {erasure.RECEIPTS} (its name, times, a token an identifier it "
            f"listed, what it removed from each place), and none is left in {erasure.REQUESTS} or "
            f"{erasure.REFUSED}" + (f"; {problems[0]}" if problems else "") + (f"; {left[0]} is left" if left else ""),
            not problems and not left,
        ),
        (
            f"{erasure.ERASED} keeps the receipts' {len(tokens)} tokens, so the persons stay erased",
            bool(erased_text) and all(token in erased_text for token in tokens),
        ),
    ]


def nowhere(template, outcome, done, got, found, gone, personal_data):
    """Check 2: no form of a listed identifier in any object of either bucket; with pseudonyms, no curated row
    with a receipt's token in its column, where the erased records' rows held them before."""
    named = [record for _, records in found.history_before for record in records] + found.landing_before
    forms = needles(done.requests.values(), named)
    places, objects, parquet = scan(done.folders, forms)
    listed = sum(len(values) for body in done.requests.values() for values in body.values())
    results = [
        (
            f"no identifier the requests listed is in either bucket ({listed} identifiers in {len(forms)} forms: "
            f"normalised, as listed, as the records held them; {objects} objects read whole, {parquet} Parquet "
            "files' strings through DuckDB as well)" + _detail(places),
            bool(forms) and not places,
        )
    ]
    if personal_data == "pseudonymised":
        connection, tokens = duckdb.connect(), receipt_tokens(got)
        try:
            table = [path for paths in lake.curated_files(outcome.folders, template).values() for path in paths]
        except lake.LakeError:
            table = []
        files = sorted(Path(done.folders[outcome.curated_bucket]).rglob("*.parquet"))
        erased = len({record["unique_id"] for record in found.landing_before if gone(record)})
        before, after = token_rows(connection, table, tokens), token_rows(connection, files, tokens)
        results.append(
            (
                f"no curated row holds a receipt's token in its column ({after} rows in {len(files)} Parquet files; "
                f"before the erasure {before} rows of the curated table did, of {erased} erased records)",
                before == erased > 0 and after == 0,
            )
        )
    return results


def kept(found, gone):
    """Check 3: the array's history, the landing zone and the curated table hold what they held less the erased
    records, each record as often as before (the curated table each once)."""
    before = [record for _, records in found.history_before for record in records]
    after = [record for _, records in found.history_after for record in records]
    expected = [record for record in before if not gone(record)]
    segments = sum(1 for key, _ in found.history_after if key != found.data_key)
    landing_kept = Counter(_canonical(record) for record in found.landing_before if not gone(record))
    erased_landing = len(found.landing_before) - landing_kept.total()
    erased_ids = {record["unique_id"] for record in found.landing_before if gone(record)}
    rows_before = found.curated_before[1] if found.curated_before else 0
    rows_after = found.curated_after
    return [
        (
            f"the array's history holds its {len(before)} records less the {len(before) - len(expected)} erased, in "
            f"order, each of its objects a JSON array ({len(after)} records in the live array and {segments} "
            "segments after)" + (f"; {found.history_unreadable}" if found.history_unreadable else ""),
            not found.history_unreadable and after == expected,
        ),
        (
            f"the landing zone holds its {len(found.landing_before)} records less the {erased_landing} erased, each "
            f"line a record or blank ({len(found.landing_after)} records in {len(found.landing_keys)} objects)"
            + (f"; {found.landing_unreadable}" if found.landing_unreadable else ""),
            not found.landing_unreadable and Counter(map(_canonical, found.landing_after)) == landing_kept,
        ),
        (
            f"the curated table holds its {rows_before} records less the {len(erased_ids)} erased, each once ("
            + ("it does not read)" if rows_after is None else f"{rows_after[0]} rows, {rows_after[1]} distinct)"),
            found.curated_before is not None
            and rows_after is not None
            and rows_after[0] == rows_after[1] == rows_before - len(erased_ids),
        ),
    ]


def counted(done, got, found):
    """Check 4: each receipt counts the records and objects its request named in the array and its segments;
    together they count the landing lines and curated rows that went."""
    wrong = []
    for name, body in done.requests.items():
        for place, expected in named_in_history(found.history_before, found.data_key, erasure.listed(body)).items():
            said = removed(got.get(name), place)
            if said != expected:
                wrong.append(
                    f"{name}'s {place} ({said[0]} records in {len(said[1])} objects, not {expected[0]} in "
                    f"{len(expected[1])})"
                )
    total = {place: sum(removed(receipt, place)[0] for receipt in got.values()) for place in PLACES}
    landing = len(found.landing_before) - len(found.landing_after)
    if total["landing"] != landing:
        wrong.append(f"landing ({total['landing']}, not {landing})")
    before, after = found.curated_before, found.curated_after
    curated = before[1] - after[1] if before and after else None
    if total["curated"] != curated:
        wrong.append(f"curated ({total['curated']}, not {curated})")
    return (
        f"the receipts count what was removed, request by request from the array's history (array "
        f"{total['array']}, segments {total['segments']}), and together from the landing zone ({total['landing']}) "
        f"and the curated table ({total['curated']})" + (f"; wrong: {', '.join(wrong)}" if wrong else ""),
        not wrong,
    )


def named_in_history(history_objects, data_key, wanted):
    """{"array" | "segments": (records, sorted objects)}: the records of the array's history (`history`'s, of the
    live array `data_key`) that hold one of the identifiers `wanted` (erasure.listed's), in the live array and in
    the segments."""
    places = {"array": (0, []), "segments": (0, [])}
    for key, records in history_objects:
        named = sum(1 for record in records if erasure.named(record, wanted))
        if named:
            place = "array" if key == data_key else "segments"
            count, keys = places[place]
            places[place] = (count + named, sorted([*keys, key]))
    return places


def receipt_tokens(got):
    """{curated column: [tokens]} of the receipts `got`."""
    tokens = {field: [] for field in erasure.FIELDS.values()}
    for receipt in got.values():
        persons = (receipt or {}).get("persons") or {}
        for key, field in erasure.FIELDS.items():
            tokens[field].extend(token for token in persons.get(key) or [] if isinstance(token, str))
    return tokens


def curated_records(folders, template):
    """(rows, distinct unique_ids) of the curated table over the copied buckets `folders`; None when it does
    not read."""
    try:
        return lake.records(lake.connect(folders, template), template, lake.CURATED_TABLE)
    except (lake.LakeError, duckdb.Error):
        return None


def _canonical(record):
    return json.dumps(record, sort_keys=True)


def _detail(found):
    if not found:
        return ""
    place, count = found.most_common(1)[0]
    return f"; {found.total()} found, {count} in {place}"

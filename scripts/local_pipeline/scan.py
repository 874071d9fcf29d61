"""What the lake keeps and what its named queries make Athena read, which is what Athena bills: of NDJSON
the whole objects of the partitions a query reads, of Parquet only the column chunks of the columns it uses
(their compressed size, as parquet_metadata gives it; the footers Athena also reads are left out).

Two rules stand in for Athena's planner, and both can only overstate what a query reads:
- a column is read if its name is a word of the query's SQL (in an alias or a string too), and every column
  is read if the SQL holds a `*` other than count(*)'s;
- a query reads every partition unless it is trivially filtered: no OR anywhere, and comparisons
  `dt <op> <expression>` right after WHERE or AND. Then it reads the partitions for which all of them hold,
  evaluated in DuckDB (on lake.connect's connection, current_date is today in UTC, as in Athena)."""

import re

from . import lake

COMPARISON = re.compile(r"\b(?:WHERE|AND)\s+dt\s*(<>|!=|<=|>=|=|<|>)\s*", re.IGNORECASE)
# What ends the expression a comparison's right side starts, outside brackets and quotes.
OPERAND_END = re.compile(r"\s+(?:AND|OR|GROUP|ORDER|LIMIT|HAVING|UNION)\b|\s*;", re.IGNORECASE)
COUNT_STAR = re.compile(r"count\s*\(\s*\*\s*\)", re.IGNORECASE)


def referenced_columns(sql, columns):
    """The columns of `columns` that `sql` reads, in their order."""
    if "*" in COUNT_STAR.sub("", sql):
        return list(columns)
    return [column for column in columns if re.search(rf"\b{re.escape(column)}\b", sql, re.IGNORECASE)]


def partitions_read(connection, sql, partitions):
    """The partitions of `partitions` (dt values) that `sql` reads."""
    if re.search(r"\bOR\b", sql, re.IGNORECASE):
        return list(partitions)
    comparisons = [(match.group(1), _operand(sql, match.end())) for match in COMPARISON.finditer(sql)]
    return [
        dt
        for dt in partitions
        if all(
            connection.execute(f"SELECT ? {operator} ({operand})", [dt]).fetchall()[0][0]
            for operator, operand in comparisons
        )
    ]


def _operand(sql, start):
    """The expression from `start` to the first AND, OR, GROUP, ... outside brackets and quotes."""
    depth, quoted, index = 0, False, start
    while index < len(sql):
        char = sql[index]
        if char == "'":
            quoted = not quoted
        elif not quoted:
            if char == ")" and depth == 0:
                break
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and OPERAND_END.match(sql, index):
                break
        index += 1
    return sql[start:index].strip()


def parquet_bytes(connection, sql, files, columns):
    """(partitions read, columns read, bytes read) of `sql` over Parquet `files` ({dt: [paths]}) with
    `columns`: the compressed size of the column chunks of the columns it reads, in every row group of the
    files of the partitions it reads."""
    read = partitions_read(connection, sql, sorted(files))
    used = referenced_columns(sql, columns)
    paths = [str(path) for dt in read for path in files[dt]]
    if not paths or not used:
        return read, used, 0
    total = connection.execute(
        "SELECT coalesce(sum(total_compressed_size), 0) FROM parquet_metadata($paths) "
        "WHERE path_in_schema IN (SELECT unnest($columns))",
        {"paths": paths, "columns": used},
    ).fetchall()[0][0]
    return read, used, int(total)


def _size(files):
    return sum(path.stat().st_size for paths in files.values() for path in paths)


def lines(connection, template, folders):
    """The summary's lines: the landing zone and the curated table, each its objects and bytes per record,
    then the bytes each named query reads, and what share that is of the landing NDJSON of the same
    partitions. `folders` are the copied buckets, {bucket: folder}; `connection` is lake.connect's over them."""
    landing_name, _ = lake.table(template, lake.LANDING_TABLE)
    curated_name, columns = lake.table(template, lake.CURATED_TABLE)
    landing = lake.partitions(folders, template, lake.LANDING_TABLE)
    curated = lake.curated_files(folders, template)
    manifests = sum(len(paths) for paths in lake.partitions(folders, template, lake.CURATED_TABLE).values())
    landing_rows, landing_records = lake.records(connection, template, lake.LANDING_TABLE)
    curated_rows, _ = lake.records(connection, template, lake.CURATED_TABLE)
    landing_objects, curated_objects = sum(map(len, landing.values())), sum(map(len, curated.values()))
    landing_bytes, curated_bytes = _size(landing), _size(curated)
    result = [
        f"landing       {landing_objects} NDJSON objects ({_per(landing_objects, landing_records):.4g} a record), "
        f"{landing_bytes:,} bytes ({_per(landing_bytes, landing_records):,.1f} a record); {landing_records} "
        f"records in {landing_rows} lines",
        f"curated       {curated_objects} Parquet files listed by {manifests} manifests "
        f"({_per(curated_objects, curated_rows):.4g} a record), {curated_bytes:,} bytes "
        f"({_per(curated_bytes, curated_rows):,.1f} a record, {_share(curated_bytes, landing_bytes)} of landing); "
        f"{curated_rows} records",
    ]
    for name, _, sql in template.named_queries():
        if re.search(rf"\b{curated_name}\b", sql):
            read, used, size = parquet_bytes(connection, sql, curated, columns)
            what = f"{', '.join(used) or 'no column'} of {curated_name}"
        else:
            read = partitions_read(connection, sql, sorted(landing))
            size = _size({dt: landing[dt] for dt in read})
            what = f"whole NDJSON objects of {landing_name}"
        baseline = _size({dt: landing[dt] for dt in read if dt in landing})
        result.append(
            f"query         {name}: {size:,} bytes ({_share(size, baseline)} of the landing NDJSON of "
            f"the {len(read)} partitions it reads): {what}"
        )
    return result


def _per(amount, records):
    return amount / records if records else 0.0


def _share(part, whole):
    return f"{100 * part / whole:.1f}%" if whole else "-"

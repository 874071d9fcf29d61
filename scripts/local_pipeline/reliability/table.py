"""The reliability report: a scenario's row, whether it holds, the row as a line of progress, and the rows as
the Markdown table docs/reliability.md is."""

from dataclasses import dataclass


@dataclass
class Row:
    scenario: str
    sent: int
    landed: int
    duplicates: int
    lost: int
    # Malformed messages in the error output or the dead-letter queue.
    set_aside: int
    malformed: int
    redeliveries: int
    faults: int
    seconds: float
    notes: str
    # Sealed segments before the live array at the end.
    segments: int = 0
    # Filler records (an initial array's) lost, doubled or moved.
    filler_damaged: int = 0

    @property
    def holds(self):
        """Nothing lost or doubled, the producer's count true, exactly the malformed set aside, and an
        initial array's records all still there once, first."""
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.landed == self.sent
            and self.set_aside == self.malformed
            and self.filler_damaged == 0
        )


def progress_line(row):
    """The line the command prints as each scenario ends."""
    return (
        f"{'ok  ' if row.holds else 'FAIL'} {row.scenario}: sent {row.sent}, landed {row.landed}, "
        f"duplicates {row.duplicates}, lost {row.lost}, set aside {row.set_aside}, "
        f"{row.faults} faults, {row.seconds:.0f} s"
    )


COLUMNS = (
    "scenario",
    "records sent",
    "landed",
    "duplicates",
    "lost",
    "malformed sent",
    "set aside",
    "deliveries again",
    "faults injected",
    "seconds",
    "notes",
)


def table(rows):
    """The report as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = (
            row.scenario,
            row.sent,
            row.landed,
            row.duplicates,
            row.lost,
            row.malformed,
            row.set_aside,
            row.redeliveries,
            row.faults,
            f"{row.seconds:.0f}",
            row.notes,
        )
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


REPORT_HEAD = """# Reliability report

Written by `scripts/reliability`; `scripts/test` runs the same scenarios and fails if any row loses or
doubles a record. Each scenario runs the real bootstraps end to end on moto, with faults injected between
the functions and moto by `scripts/local_pipeline/fault_proxy.py`. The event source mapping reaches moto
through the counting proxy only, and the checks talk to moto directly. The producer packs five records to a message. The consumer searches only the array's last 16 KiB for a record delivered
the first time, so a record that comes back is found only by the wider search a redelivery gets. `landed`
counts distinct records in the array's whole history: its sealed segments (`streaming_data/00000001.json`,
`00000002.json`, ..., once the consumer rolls the array over at `DATA_ROLLOVER_BYTES`) in order, then the live
`streaming_data.json`; `duplicates` counts extra copies there; `lost` counts records the producer reported
sent that did not land; `malformed sent` counts malformed messages, packed messages with a bad line and a hostile
sender's messages with a record to refuse (the valid records of both count as sent); `set aside` counts those in the
error output (`errors/`, one object a message, each bad record with its reason) or, in the scenario without one, in
the dead-letter queue;
`deliveries again` counts messages the consumer was given more than once (after a
failure it reported, a function error, or SQS's own at-least-once delivery). A scenario on an array above 5 MiB starts with
filler records already in it (so every append composes with UploadPartCopy); they are not counted above,
but each must still be there exactly once, before every record of the run. Every row must show 0 lost and
0 duplicates, and exactly the malformed messages set aside. The partitions are at least once: a record
whose message came back in another batch can be in two partition objects; the compactor keeps it once in
the curated table, and its own scenarios (faults, killed runs, runs at once, late and repeated records) are
in `compactor/tests/it/lake.rs`, described in docs/curated-lake.md. The hostile sender's scenario runs the
compactor after the drain (its input budget at 1 MiB, a gzip bomb of 1 GiB in the landing zone), and its notes say
what its checks measured: no partition outside the consumer's window, each message's error output and log lines
within their bounds, the bomb refused and left in place, and the compactor's peak resident memory. The erasure
scenario starts with 20 records of earlier persons in the array and the landing zone (compacted into the curated
lake before the run; not counted above, but each must still be there once, first), puts a request for one of them as
the consumers start and runs the compactor through the faults until the request has its receipt; its checks read
every object of both buckets afterwards (no form of the person's identifiers, no curated row with the receipt's
tokens, the other earlier records once, receipt counts within what was there), and its notes say when the
compactor's first write of the live array landed, and how many of its writes the appends had beaten before.

"""  # noqa: E501 - the report's text as docs/reliability.md has it


def document(rows):
    """The whole report: what it measures, then the table."""
    return REPORT_HEAD + table(rows)

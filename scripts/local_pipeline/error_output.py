"""The consumer's error output read back: one object a message, a JSON header line (the message, how many records
it refused, the layout of its body, and the reasons by code) then a line `<code>\\t<record as it came>` a refused
record, as records with their reasons ({"message_id", "sent_at", "field", "problem", "detail", "record"}).

A packed body ("lines" layout) gives a line a record, and a record's text never holds a newline. A body that is
one record ("document" layout, possibly pretty-printed over several lines) gives one record whose text runs from
the first tab to the end of the object, less the one newline that ends it. Objects of the earlier format, a JSON
object a line with the reason and the record in it, are read as they are."""

import json


class MalformedErrorOutput(ValueError):
    pass


def records(body):
    """The refused records of one error output object (`body`, bytes or text), each with its message and
    reason."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    first, _, rest = text.partition("\n")
    header = json.loads(first)
    if "reasons" not in header:
        # The earlier format: the first line was already a record with its reason.
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if header.get("layout") == "document":
        code, tab, record = rest.partition("\t")
        lines = [(code, record.removesuffix("\n"))] if tab else []
    elif header.get("layout") == "lines":
        # The newline that ends the last line ends the object, and is not an empty line after it.
        lines = [_code_and_text(line) for line in rest.removesuffix("\n").split("\n")] if rest else []
    else:
        raise MalformedErrorOutput(f"message {header.get('message_id')}: unknown layout {header.get('layout')!r}")
    if len(lines) != header.get("rejected"):
        raise MalformedErrorOutput(
            f"message {header.get('message_id')}: {len(lines)} records, the header says {header.get('rejected')}"
        )
    reasons = header["reasons"]
    unknown = sorted({code for code, _ in lines} - set(reasons))
    if unknown:
        raise MalformedErrorOutput(f"message {header.get('message_id')}: reason codes {unknown} not in the header")
    return [
        {
            "message_id": header.get("message_id"),
            "sent_at": header.get("sent_at"),
            "field": reasons[code].get("field"),
            "problem": reasons[code].get("problem"),
            "detail": reasons[code].get("detail"),
            "record": record,
        }
        for code, record in lines
    ]


def _code_and_text(line):
    code, tab, record = line.partition("\t")
    if not tab:
        raise MalformedErrorOutput("a record's line without a tab after its reason code")
    return code, record


def read(folder, keys):
    """The refused records of the error output objects `keys` of a bucket copied to `folder`, in key order."""
    return [record for key in keys for record in records((folder / key).read_bytes())]

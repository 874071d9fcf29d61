"""The compactor's run after the queue drains: one invocation, as its schedule makes them, over everything
that landed (a local run sets COMPACT_GRACE_SECS=0, so no landed object is too young), through the counting
proxy. Its response is the run's account, and its billed time and requests go into the bill."""

import json
import math
import time
from dataclasses import dataclass

from . import usage

# The schedule's event says nothing the compactor reads; any JSON starts a run.
EVENT = b"{}"


@dataclass
class Compaction:
    ok: bool
    # The run's account ("partitions", "records_written", "failed_partitions", ...), or, when the
    # invocation failed, its error ("errorType", "errorMessage").
    response: dict
    billed_ms: int
    # Its requests at the proxy, from its start (the secret's read) to its answer: operation -> usage.Operation.
    usage: dict
    # The most resident memory its process held up to its answer; None where the system does not say.
    peak_memory_bytes: int | None = None


def run(function, tally):
    """Starts `function` (a runtime.LocalFunction of the compactor), invokes it once and stops it; `tally` is
    the proxy's, which nothing else uses meanwhile."""
    before = tally.snapshot()
    with function:
        invoked = invoke(function)
        # Read before the process is stopped, which takes its high-water mark with it.
        invoked.peak_memory_bytes = function.peak_memory_bytes()
    invoked.usage = usage.since(tally.snapshot(), before)
    return invoked


def invoke(function):
    """Invokes the running compactor `function` once, as its schedule does; its requests are the caller's to
    count (`usage` is left empty)."""
    started = time.monotonic()
    result = function.invoke(EVENT)
    billed_ms = math.ceil((time.monotonic() - started) * 1000)
    try:
        response = result.json()
    except ValueError:
        response = {"errorType": "Response", "errorMessage": result.payload.decode(errors="replace")}
    return Compaction(result.ok, response, billed_ms, {})


# The message of the line the compactor logs as a run ends, with every total as a field.
SUMMARY_MESSAGE = "run finished"


def logged_totals(log_text):
    """The totals of the last run-finished line in the compactor's log (JSON lines, fields as tracing nests them),
    or {}: what a run counted even when its invocation then failed, and so answered with an error, not its account."""
    totals = {}
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        fields = entry.get("fields") if isinstance(entry, dict) else None
        if isinstance(fields, dict) and fields.get("message") == SUMMARY_MESSAGE:
            totals = {name: value for name, value in fields.items() if name != "message"}
    return totals

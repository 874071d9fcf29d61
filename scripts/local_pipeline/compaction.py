"""The compactor's run after the queue drains: one invocation, as its schedule makes them, over everything
that landed (a local run sets COMPACT_GRACE_SECS=0, so no landed object is too young), through the counting
proxy. Its response is the run's account, and its billed time and requests go into the bill."""

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


def run(function, tally):
    """Starts `function` (a runtime.LocalFunction of the compactor), invokes it once and stops it; `tally` is
    the proxy's, which nothing else uses meanwhile."""
    before = tally.snapshot()
    with function:
        started = time.monotonic()
        result = function.invoke(EVENT)
        billed_ms = math.ceil((time.monotonic() - started) * 1000)
    try:
        response = result.json()
    except ValueError:
        response = {"errorType": "Response", "errorMessage": result.payload.decode(errors="replace")}
    return Compaction(result.ok, response, billed_ms, usage.since(tally.snapshot(), before))

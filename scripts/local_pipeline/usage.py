"""What a run asks of AWS, counted request by request at the proxy the functions and the event source
mapping talk through: each operation's requests and, for SQS, the units it bills (one per 64 KiB of the
message bodies a request carries or returns, at least one)."""

import json
import math
import threading
from dataclasses import dataclass, field

SQS_BILLING_CHUNK = 64 * 1024


@dataclass
class Operation:
    requests: int = 0
    # Billed requests: SQS's 64 KiB chunks; one per request elsewhere.
    units: int = 0
    # Messages sent or received.
    messages: int = 0
    # ReceiveMessage calls that returned nothing (Lambda's long polls of an idle queue).
    empty: int = 0


@dataclass
class Tally:
    operations: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name, request_body, response_body, status):
        """Counts one forwarded request; a refused one (4xx/5xx) is billed all the same, as AWS does."""
        units, messages = 1, 0
        if name in ("sqs:SendMessageBatch", "sqs:SendMessage"):
            bodies = (
                _sqs_bodies(request_body, "Entries", "MessageBody")
                if name.endswith("Batch")
                else _sqs_bodies(request_body, None, "MessageBody")
            )
            units, messages = _chunks(bodies), len(bodies)
        elif name == "sqs:ReceiveMessage" and status < 300:
            bodies = _sqs_bodies(response_body, "Messages", "Body")
            units, messages = _chunks(bodies), len(bodies)
        with self.lock:
            operation = self.operations.setdefault(name, Operation())
            operation.requests += 1
            operation.units += units
            operation.messages += messages
            operation.empty += int(name == "sqs:ReceiveMessage" and messages == 0)

    def snapshot(self):
        with self.lock:
            return {name: Operation(**vars(operation)) for name, operation in sorted(self.operations.items())}


def since(after, before):
    """What was asked between two snapshots: `after`'s operations less `before`'s, those with no new request
    left out. Tells the compactor's requests from the rest of a run's, as it runs alone after the drain."""
    spent = {}
    for name, operation in after.items():
        earlier = before.get(name, Operation())
        difference = Operation(**{key: value - getattr(earlier, key) for key, value in vars(operation).items()})
        if difference.requests:
            spent[name] = difference
    return spent


def _sqs_bodies(payload, list_key, body_key):
    """The message bodies in an SQS JSON-protocol payload (the SDKs' protocol); none if it is not JSON."""
    try:
        document = json.loads(payload) if payload else {}
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    items = document.get(list_key, []) if list_key else [document]
    return [item[body_key] for item in items if isinstance(item, dict) and isinstance(item.get(body_key), str)]


def _chunks(bodies):
    return max(1, math.ceil(sum(len(body.encode()) for body in bodies) / SQS_BILLING_CHUNK))

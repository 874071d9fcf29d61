"""The filler an initial array starts with (a scenario on an array above 5 MiB), and how much of it a run
lost, doubled or moved."""

import json
import random
import uuid

from .scenarios import SEED


def filler_array(size, seed=SEED):
    """A JSON array of about `size` bytes of filler records laid out as the consumer writes (`[`, one record
    a line, `,` between them, `]`), and the filler's unique ids in order."""
    dice = random.Random(seed)
    padding = "f" * 480
    ids, lines, length = [], [], 2
    while length < size:
        unique_id = str(uuid.UUID(int=dice.getrandbits(128), version=4))
        line = json.dumps({"unique_id": unique_id, "filler": padding}).encode()
        ids.append(unique_id)
        lines.append(line)
        length += len(line) + 2
    return b"[\n" + b",\n".join(lines) + b"\n]\n", ids


def filler_damage(history_ids, filler_ids):
    """How many filler records are not where they were, once each, before every record of the run."""
    head = history_ids[: len(filler_ids)]
    misplaced = sum(1 for found, placed in zip(head, filler_ids, strict=False) if found != placed)
    missing = len(filler_ids) - len(head)
    fillers = set(filler_ids)
    again = sum(1 for unique_id in history_ids[len(filler_ids) :] if unique_id in fillers)
    return misplaced + missing + again

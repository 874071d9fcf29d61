"""moto's server, with SQS made fast enough for a queue of thousands of messages and its receive atomic.

moto 5.2.5 looks at every message in a queue on each SendMessage (it builds all queue attributes, which count
the messages) and on each message ReceiveMessage hands out (the retention check builds them again), and it
reads the clock through datetime arithmetic each time. At 3,000 messages a receive took 1.4 s and a send of
ten 0.43 s, so a local run slowed down as its queue grew. Here the retention check reads the period
directly, and the SQS backend reads the clock with time.time(); what moto answers does not change.

moto's ReceiveMessage also runs unlocked, so two receivers at once could both take the same message, which
SQS does not do while a message is in flight. Here one receive runs at a time."""

import functools
import sys
import threading
import time

from moto.core import utils
from moto.server import main
from moto.sqs import models


def _unix_time(moment=None):
    return time.time() if moment is None else utils.unix_time(moment)


def _unix_time_millis(moment=None):
    return _unix_time(moment) * 1000.0


def _within_retention_period(self, queue_name, message):
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return retention_period + message.sent_timestamp / 1000 > _unix_time()


def _one_at_a_time(method):
    lock = threading.Lock()

    @functools.wraps(method)
    def serialised(*args, **kwargs):
        with lock:
            return method(*args, **kwargs)

    return serialised


models.unix_time = _unix_time
models.unix_time_millis = _unix_time_millis
models.SQSBackend.is_message_valid_based_on_retention_period = _within_retention_period
models.SQSBackend.receive_message = _one_at_a_time(models.SQSBackend.receive_message)

if __name__ == "__main__":
    sys.exit(main())

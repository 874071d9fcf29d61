"""moto's server, with SQS made fast enough for a queue of thousands of messages and its receive atomic.

moto 5.2.5 looks at every message in a queue on each SendMessage (it builds all queue attributes, which count
the messages) and on each message ReceiveMessage hands out (the retention check builds them again), and it
reads the clock through datetime arithmetic each time. At 3,000 messages a receive took 1.4 s and a send of
ten 0.43 s, so a local run slowed down as its queue grew. Here the retention check reads the period
directly, and the SQS backend reads the clock with time.time(); what moto answers does not change.

moto's ReceiveMessage also runs unlocked, so two receivers at once could both take the same message, which
SQS does not do while a message is in flight. Here one receive runs at a time.

S3's multipart guards are missing too. moto ignores `x-amz-copy-source-if-match` (and -if-none-match) on
UploadPartCopy and `If-Match` on CompleteMultipartUpload, so two writers composing a new version of the same
object from the same ETag both succeed and one silently loses the other's append (or, copying byte ranges of
a version that changed under them, corrupt it). Here UploadPartCopy answers 412 PreconditionFailed when the
source's ETag does not match (or matches -if-none-match), and 404 NoSuchKey for a missing source (moto gave
a bare 404); CompleteMultipartUpload answers 412 when the key's ETag differs from If-Match and 404 NoSuchKey
when there is no key, as S3 does; both answer 404 NoSuchUpload for an unknown upload (moto failed with 500).
Completing an upload that already made the key stays idempotent, as moto has it for If-None-Match.

Those checks, and moto's own on PutObject and DeleteObject, run in the request handler a few statements
before the write they guard, and moto's server handles requests on many threads, so two guarded writers
could both pass the check. Here every request on an object (and DeleteObjects) runs under one lock, reads
included: moto stores a new object before it sets its metadata, so an unlocked read could see it without."""

import functools
import sys
import threading
import time
from urllib.parse import parse_qs, unquote, urlparse

from moto.core import utils
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import MissingKey, NoSuchUpload, PreconditionFailed
from moto.server import main
from moto.sqs import models


def _unix_time(moment=None):
    return time.time() if moment is None else utils.unix_time(moment)


def _unix_time_millis(moment=None):
    return _unix_time(moment) * 1000.0


def _within_retention_period(self, queue_name, message):
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return retention_period + message.sent_timestamp / 1000 > _unix_time()


def _one_at_a_time(method, lock=None):
    lock = lock or threading.Lock()

    @functools.wraps(method)
    def serialised(*args, **kwargs):
        with lock:
            return method(*args, **kwargs)

    return serialised


def _same_etag(etag, wanted):
    """S3 takes an ETag with or without its quotes; `*` matches any."""
    return wanted.strip() == "*" or etag.strip('"') == wanted.strip().strip('"')


def _copy_source(headers):
    """(bucket, key, version id) of `x-amz-copy-source`, read as moto reads it."""
    source = headers.get("x-amz-copy-source")
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    parsed = urlparse(source)
    bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
    return bucket, key, parse_qs(parsed.query).get("versionId", [None])[0]


def _require_upload(response, bucket_name, upload_id):
    if upload_id not in response.backend.get_bucket(bucket_name).multiparts:
        raise NoSuchUpload(upload_id=upload_id)


def _check_copy_source(response):
    """UploadPartCopy's conditions on its source, as S3 checks them."""
    _require_upload(response, response.bucket_name, response._get_param("uploadId"))
    bucket, key, version_id = _copy_source(response.headers)
    source = response.backend.get_object(bucket, key, version_id=version_id)
    if source is None:
        raise MissingKey(key=key)
    if_match = response.headers.get("x-amz-copy-source-if-match")
    if if_match and not _same_etag(source.etag, if_match):
        raise PreconditionFailed("x-amz-copy-source-If-Match")
    if_none_match = response.headers.get("x-amz-copy-source-if-none-match")
    if if_none_match and _same_etag(source.etag, if_none_match):
        raise PreconditionFailed("x-amz-copy-source-If-None-Match")


def _guarded_upload_part_copy(upload_part_copy):
    @functools.wraps(upload_part_copy)
    def guarded(self):
        _check_copy_source(self)
        return upload_part_copy(self)

    return guarded


def _check_completion(response, bucket_name, key_name, upload_id):
    """CompleteMultipartUpload's If-Match, unless this upload already made the key (moto's idempotent case)."""
    existing = response.backend.get_object(bucket_name, key_name)
    if existing is not None and existing.multipart and existing.multipart.id == upload_id:
        return
    _require_upload(response, bucket_name, upload_id)
    if_match = response.headers.get("If-Match")
    if if_match and existing is None:
        raise MissingKey(key=key_name)
    if if_match and not _same_etag(existing.etag, if_match):
        raise PreconditionFailed("If-Match")


def _guarded_key_post(key_response_post):
    @functools.wraps(key_response_post)
    def guarded(self, request, body, bucket_name, query, key_name):
        creating = body == b"" and "uploads" in query
        if query.get("uploadId") and not creating:
            _check_completion(self, bucket_name, key_name, query["uploadId"][0])
        return key_response_post(self, request, body, bucket_name, query, key_name)

    return guarded


models.unix_time = _unix_time
models.unix_time_millis = _unix_time_millis
models.SQSBackend.is_message_valid_based_on_retention_period = _within_retention_period
models.SQSBackend.receive_message = _one_at_a_time(models.SQSBackend.receive_message)

_S3 = s3_responses.S3Response
_S3.upload_part_copy = _guarded_upload_part_copy(_S3.upload_part_copy)
_S3._key_response_post = _guarded_key_post(_S3._key_response_post)
_objects_lock = threading.Lock()
_S3._key_response = _one_at_a_time(_S3._key_response, _objects_lock)
_S3._bucket_response_delete_keys = _one_at_a_time(_S3._bucket_response_delete_keys, _objects_lock)

if __name__ == "__main__":
    sys.exit(main())

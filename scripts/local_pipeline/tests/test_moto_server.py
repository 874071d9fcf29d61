"""The local S3 (scripts/moto_server.py) keeps S3's guards on a composed write: UploadPartCopy's
x-amz-copy-source-if-match and CompleteMultipartUpload's If-Match, each checked atomically with the other
writes to the key, so concurrent composes lose and corrupt nothing; and it answers the metadata and ranges
the consumer reads as S3 does."""

import json
import threading
import unittest

import boto3
from botocore.exceptions import ClientError

from .support import require_loopback_endpoint, unique_name

# Every part but the last has at least 5 MiB.
PART_BYTES = 5 * 1024 * 1024
KEY = "streaming_data.json"


def error(raised):
    """(HTTP status, S3 error code) of a ClientError."""
    response = raised.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def base_object(size=PART_BYTES + 4096):
    return b"B" * size


class MotoServerTest(unittest.TestCase):
    def setUp(self):
        require_loopback_endpoint(self)
        self.s3 = boto3.client("s3")
        self.bucket = unique_name("moto")
        self.s3.create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": self.s3.meta.region_name}
        )

    def put(self, body, key=KEY, **conditions):
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, **conditions)["ETag"]

    def read(self, key=KEY):
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def start_upload(self, key=KEY, **extra):
        return self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, **extra)["UploadId"]

    def copy_part(self, upload_id, source_key, last_byte, key=KEY, **conditions):
        """Part 1 of `upload_id`: bytes 0..=last_byte of `source_key`."""
        return self.s3.upload_part_copy(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=1,
            CopySource={"Bucket": self.bucket, "Key": source_key},
            CopySourceRange=f"bytes=0-{last_byte}",
            **conditions,
        )["CopyPartResult"]["ETag"]

    def prepared_upload(self, source_key, suffix, key=KEY, **extra):
        """An upload of `key` holding all of `source_key` then `suffix`; returns (upload id, its parts)."""
        size = self.s3.head_object(Bucket=self.bucket, Key=source_key)["ContentLength"]
        upload_id = self.start_upload(key, **extra)
        copied = self.copy_part(upload_id, source_key, size - 1, key)
        uploaded = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=2, Body=suffix)[
            "ETag"
        ]
        return upload_id, [{"PartNumber": 1, "ETag": copied}, {"PartNumber": 2, "ETag": uploaded}]

    def complete(self, upload_id, parts, key=KEY, **conditions):
        return self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **conditions
        )

    def test_a_part_copied_from_a_stale_etag_is_refused(self):
        stale = self.put(base_object())
        current = self.put(base_object() + b"changed")
        upload_id = self.start_upload()

        with self.assertRaises(ClientError) as raised:
            self.copy_part(upload_id, KEY, PART_BYTES - 1, CopySourceIfMatch=stale)
        self.assertEqual(error(raised.exception), (412, "PreconditionFailed"))
        with self.assertRaises(ClientError) as raised:
            self.copy_part(upload_id, KEY, PART_BYTES - 1, CopySourceIfNoneMatch=current)
        self.assertEqual(error(raised.exception), (412, "PreconditionFailed"))
        self.assertEqual(self.s3.list_parts(Bucket=self.bucket, Key=KEY, UploadId=upload_id).get("Parts", []), [])

        self.copy_part(upload_id, KEY, PART_BYTES - 1, CopySourceIfMatch=current)
        self.copy_part(upload_id, KEY, PART_BYTES - 1, CopySourceIfMatch=current.strip('"'))

    def test_a_part_copied_from_a_missing_key_is_no_such_key(self):
        upload_id = self.start_upload()
        with self.assertRaises(ClientError) as raised:
            self.copy_part(upload_id, "absent.json", 9)
        self.assertEqual(error(raised.exception), (404, "NoSuchKey"))

    def test_completing_against_a_stale_etag_is_refused(self):
        stale = self.put(base_object())
        upload_id, parts = self.prepared_upload(KEY, b"suffix")
        self.put(b"written meanwhile")

        with self.assertRaises(ClientError) as raised:
            self.complete(upload_id, parts, IfMatch=stale)
        self.assertEqual(error(raised.exception), (412, "PreconditionFailed"))
        self.assertEqual(self.read(), b"written meanwhile")

    def test_completing_with_if_match_on_a_missing_key_is_no_such_key(self):
        self.put(base_object(), key="source.json")
        upload_id, parts = self.prepared_upload("source.json", b"suffix")

        with self.assertRaises(ClientError) as raised:
            self.complete(upload_id, parts, IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertEqual(error(raised.exception), (404, "NoSuchKey"))
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=self.bucket, Prefix=KEY))

    def test_completing_with_if_none_match_on_an_existing_key_is_refused(self):
        self.put(b"there")
        self.put(base_object(), key="source.json")
        upload_id, parts = self.prepared_upload("source.json", b"suffix")

        with self.assertRaises(ClientError) as raised:
            self.complete(upload_id, parts, IfNoneMatch="*")
        self.assertEqual(error(raised.exception), (412, "PreconditionFailed"))
        self.assertEqual(self.read(), b"there")

    def test_a_guarded_completion_writes_and_its_retry_is_idempotent(self):
        etag = self.put(base_object())
        upload_id, parts = self.prepared_upload(KEY, b"suffix")

        written = self.complete(upload_id, parts, IfMatch=etag)
        again = self.complete(upload_id, parts, IfMatch=etag)

        self.assertEqual(again["ETag"], written["ETag"])
        self.assertEqual(self.read(), base_object() + b"suffix")

    def test_the_uploads_metadata_is_on_the_object_and_in_ranged_reads(self):
        etag = self.put(base_object())
        upload_id, parts = self.prepared_upload(
            KEY, b"suffix", Metadata={"records": "42"}, ContentType="application/json"
        )
        self.complete(upload_id, parts, IfMatch=etag)

        size = len(base_object()) + len(b"suffix")
        tail = self.s3.get_object(Bucket=self.bucket, Key=KEY, Range="bytes=-16")
        self.assertEqual(tail["Metadata"], {"records": "42"})
        self.assertEqual(tail["ContentRange"], f"bytes {size - 16}-{size - 1}/{size}")
        self.assertEqual(tail["Body"].read(), (base_object() + b"suffix")[-16:])
        head = self.s3.head_object(Bucket=self.bucket, Key=KEY)
        self.assertEqual((head["Metadata"], head["ContentLength"]), ({"records": "42"}, size))

    def test_a_suffix_range_longer_than_the_object_gives_all_of_it(self):
        self.put(b"0123456789")
        tail = self.s3.get_object(Bucket=self.bucket, Key=KEY, Range="bytes=-100")
        self.assertEqual(tail["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(tail["ContentRange"], "bytes 0-9/10")
        self.assertEqual(tail["Body"].read(), b"0123456789")

    def test_a_suffix_range_of_an_empty_object(self):
        """S3 answers 416 InvalidRange, and the consumer then reads the object whole; moto answers the
        whole (empty) object without a Content-Range, which the consumer's tail takes as offset 0, size 0."""
        self.put(b"")
        try:
            tail = self.s3.get_object(Bucket=self.bucket, Key=KEY, Range="bytes=-100")
        except ClientError as raised:
            self.assertEqual(error(raised), (416, "InvalidRange"))
            return
        self.assertNotIn("ContentRange", tail)
        self.assertEqual(tail["Body"].read(), b"")

    def test_guarded_puts_lose_no_update(self):
        self.put(b"0")
        threads, increments = 8, 15

        def increment():
            s3 = boto3.client("s3")
            for _ in range(increments):
                while True:
                    current = s3.get_object(Bucket=self.bucket, Key=KEY)
                    value = int(current["Body"].read())
                    try:
                        s3.put_object(
                            Bucket=self.bucket, Key=KEY, Body=str(value + 1).encode(), IfMatch=current["ETag"]
                        )
                        break
                    except ClientError as raised:
                        if error(raised) != (412, "PreconditionFailed"):
                            raise

        self.run_all([increment] * threads)
        self.assertEqual(int(self.read()), threads * increments)

    def test_concurrent_composes_lose_and_corrupt_nothing(self):
        base = base_object()
        self.put(base)
        suffixes = [
            json.dumps({"writer": writer, "pad": "x" * (100 + 37 * writer)}).encode() + b"\n" for writer in range(8)
        ]
        refusals = []

        def append(suffix):
            s3 = boto3.client("s3")
            while True:
                head = s3.head_object(Bucket=self.bucket, Key=KEY)
                try:
                    self.compose(s3, head["ETag"], head["ContentLength"], suffix)
                    return
                except ClientError as raised:
                    if error(raised) != (412, "PreconditionFailed"):
                        raise
                    refusals.append(raised)

        self.run_all([lambda suffix=suffix: append(suffix) for suffix in suffixes])

        body = self.read()
        self.assertEqual(body[: len(base)], base)
        appended = body[len(base) :].splitlines(keepends=True)
        self.assertEqual(sorted(appended), sorted(suffixes))
        self.assertEqual(len(body), len(base) + sum(map(len, suffixes)))
        self.assertGreater(len(refusals), 0, "the writers never raced; the test proves nothing")

    def compose(self, s3, etag, size, suffix):
        """The consumer's compose: all `size` bytes of the version `etag` copied, then `suffix`, guarded."""
        upload_id = s3.create_multipart_upload(Bucket=self.bucket, Key=KEY)["UploadId"]
        try:
            copied = s3.upload_part_copy(
                Bucket=self.bucket,
                Key=KEY,
                UploadId=upload_id,
                PartNumber=1,
                CopySource={"Bucket": self.bucket, "Key": KEY},
                CopySourceRange=f"bytes=0-{size - 1}",
                CopySourceIfMatch=etag,
            )["CopyPartResult"]["ETag"]
            uploaded = s3.upload_part(Bucket=self.bucket, Key=KEY, UploadId=upload_id, PartNumber=2, Body=suffix)[
                "ETag"
            ]
            s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=KEY,
                UploadId=upload_id,
                IfMatch=etag,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied}, {"PartNumber": 2, "ETag": uploaded}]},
            )
        except ClientError:
            s3.abort_multipart_upload(Bucket=self.bucket, Key=KEY, UploadId=upload_id)
            raise

    @staticmethod
    def run_all(work):
        """Runs each callable on a thread of its own, all started together; re-raises the first failure."""
        failures, start = [], threading.Barrier(len(work))

        def run(job):
            start.wait()
            try:
                job()
            except BaseException as failure:  # noqa: BLE001 - handed to the test's thread
                failures.append(failure)

        threads = [threading.Thread(target=run, args=(job,)) for job in work]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        if failures:
            raise failures[0]


if __name__ == "__main__":
    unittest.main()

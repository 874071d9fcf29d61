"""The fault proxy's decisions without a socket: how a request is named (service:Operation), which rule a name
meets, how the dice pick a fault and how faults are counted, the errors it answers with, and how it reads a
request's body and passes headers on."""

import http.client
import io
import json
import unittest
from typing import ClassVar

from local_pipeline.fault_proxy import (
    Faults,
    Injected,
    Rule,
    answer_headers,
    error_response,
    operation,
    read_body,
    rule_for,
    upstream_headers,
)


def headers(**fields):
    """Request headers as the proxy's handler has them (case-insensitive); `_` in a name is `-`."""
    block = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in fields.items()) + "\r\n"
    return http.client.parse_headers(io.BytesIO(block.encode()))


class FixedDice:
    """Dice that always roll `roll`."""

    def __init__(self, roll):
        self.roll = roll

    def random(self):
        return self.roll


class OperationTest(unittest.TestCase):
    def name(self, method, path, query="", **fields):
        return operation(method, path, query, headers(**fields))

    def test_sqs_json_requests_are_named_by_their_target(self):
        self.assertEqual(
            self.name("POST", "/", X_Amz_Target="AmazonSQS.SendMessageBatch"),
            "sqs:SendMessageBatch",
        )
        self.assertEqual(self.name("POST", "/", x_amz_target="AmazonSQS.ReceiveMessage"), "sqs:ReceiveMessage")

    def test_secrets_manager_requests_are_named_by_their_target(self):
        self.assertEqual(
            self.name("POST", "/", X_Amz_Target="secretsmanager.GetSecretValue"),
            "secretsmanager:GetSecretValue",
        )

    def test_sqs_query_requests_are_named_by_their_action(self):
        self.assertEqual(
            self.name("POST", "/123456789012/queue", "Action=DeleteMessageBatch&Version=2012-11-05"),
            "sqs:DeleteMessageBatch",
        )

    def test_object_requests_are_named_by_method(self):
        path = "/bucket/user_sessions/dt=2026-11-29/a.json"
        names = {method: self.name(method, path) for method in ("GET", "PUT", "HEAD", "DELETE", "POST")}
        self.assertEqual(
            names,
            {
                "GET": "s3:GetObject",
                "PUT": "s3:PutObject",
                "HEAD": "s3:HeadObject",
                "DELETE": "s3:DeleteObject",
                "POST": "s3:POST",
            },
        )

    def test_bucket_requests_are_named_by_method_with_or_without_a_trailing_slash(self):
        self.assertEqual(self.name("GET", "/bucket", "list-type=2&prefix=errors%2F"), "s3:ListObjectsV2")
        self.assertEqual(self.name("GET", "/bucket/"), "s3:ListObjectsV2")
        self.assertEqual(self.name("PUT", "/bucket"), "s3:CreateBucket")
        self.assertEqual(self.name("HEAD", "/bucket"), "s3:HeadBucket")
        self.assertEqual(self.name("DELETE", "/bucket"), "s3:DELETE")

    def test_a_multipart_upload_is_named_step_by_step(self):
        key = "/bucket/streaming_data.json"
        self.assertEqual(self.name("POST", key, "uploads"), "s3:CreateMultipartUpload")
        self.assertEqual(self.name("PUT", key, "partNumber=1&uploadId=u1"), "s3:UploadPart")
        self.assertEqual(
            self.name("PUT", key, "partNumber=2&uploadId=u1", x_amz_copy_source="/bucket/streaming_data.json"),
            "s3:UploadPartCopy",
        )
        self.assertEqual(self.name("GET", key, "uploadId=u1"), "s3:ListParts")
        self.assertEqual(self.name("POST", key, "uploadId=u1"), "s3:CompleteMultipartUpload")
        self.assertEqual(self.name("DELETE", key, "uploadId=u1"), "s3:AbortMultipartUpload")


class RuleTest(unittest.TestCase):
    def test_the_roll_falls_through_the_kinds_in_order(self):
        rule = Rule(error=0.1, throttle=0.2, reset=0.1, reset_after=0.1, delay=0.1)
        picks = [rule.pick(FixedDice(roll)) for roll in (0.05, 0.15, 0.35, 0.45, 0.55, 0.65, 0.99)]
        self.assertEqual(picks, ["error", "throttle", "reset", "reset_after", "delay", None, None])

    def test_a_roll_at_a_chances_edge_belongs_to_the_next_kind(self):
        rule = Rule(error=0.25, throttle=0.25)
        self.assertEqual(rule.pick(FixedDice(0.25)), "throttle")
        self.assertIsNone(rule.pick(FixedDice(0.5)))

    def test_the_default_rule_passes_everything_through(self):
        self.assertIsNone(Rule().pick(FixedDice(0.0)))


class RuleForTest(unittest.TestCase):
    RULES: ClassVar[dict] = {"s3:PutObject": Rule(error=1.0), "s3:*": Rule(throttle=1.0), "*": Rule(delay=1.0)}

    def test_an_operations_own_rule_comes_first(self):
        self.assertIs(rule_for(self.RULES, "s3:PutObject"), self.RULES["s3:PutObject"])

    def test_then_its_services_wildcard(self):
        self.assertIs(rule_for(self.RULES, "s3:GetObject"), self.RULES["s3:*"])

    def test_then_the_catch_all(self):
        self.assertIs(rule_for(self.RULES, "sqs:SendMessageBatch"), self.RULES["*"])

    def test_no_rule_that_applies_is_a_rule_that_passes_through(self):
        self.assertEqual(rule_for({"s3:*": Rule(error=1.0)}, "sqs:ReceiveMessage"), Rule())


class FaultsTest(unittest.TestCase):
    def test_every_request_is_counted_and_only_faults_by_kind(self):
        faults = Faults({"s3:*": Rule(error=1.0)})
        kinds = [faults.decide(name) for name in ("s3:PutObject", "sqs:SendMessageBatch", "s3:GetObject")]
        self.assertEqual(kinds, ["error", None, "error"])
        self.assertEqual((faults.injected.requests, faults.injected.by_kind), (3, {"error": 2}))
        self.assertEqual(faults.injected.total(), 2)

    def test_the_same_seed_gives_the_same_faults(self):
        rules = {"*": Rule(error=0.2, throttle=0.2, reset=0.1, reset_after=0.1, delay=0.1)}
        runs = []
        for _ in range(2):
            faults = Faults(rules, seed=11)
            runs.append([faults.decide("s3:PutObject") for _ in range(200)])
        self.assertEqual(runs[0], runs[1])
        self.assertEqual(set(runs[0]), {"error", "throttle", "reset", "reset_after", "delay", None})

    def test_rules_changed_while_deciding_apply_to_the_next_request(self):
        faults = Faults()
        self.assertIsNone(faults.decide("s3:PutObject"))
        faults.rules = {"s3:*": Rule(throttle=1.0)}
        self.assertEqual(faults.decide("s3:PutObject"), "throttle")
        faults.rules = {}
        self.assertIsNone(faults.decide("s3:PutObject"))
        self.assertEqual(faults.injected.by_kind, {"throttle": 1})

    def test_the_rules_given_are_copied(self):
        rules = {"*": Rule(error=1.0)}
        faults = Faults(rules)
        rules.clear()
        self.assertEqual(faults.decide("s3:GetObject"), "error")

    def test_a_request_that_meets_no_fault_counts_as_a_request_only(self):
        injected = Injected()
        injected.count(None)
        injected.count("delay")
        self.assertEqual((injected.requests, injected.by_kind, injected.total()), (2, {"delay": 1}, 1))


class ErrorResponseTest(unittest.TestCase):
    def test_sqs_is_throttled_as_its_json_protocol_says(self):
        status, fields, body = error_response("sqs:SendMessageBatch", "throttle")
        self.assertEqual(status, 400)
        self.assertEqual(fields["x-amzn-query-error"], "ThrottlingException;Sender")
        self.assertEqual(json.loads(body)["__type"], "com.amazonaws.sqs#ThrottlingException")

    def test_an_sqs_error_is_an_internal_error(self):
        status, fields, body = error_response("sqs:ReceiveMessage", "error")
        self.assertEqual((status, fields["Content-Type"]), (500, "application/x-amz-json-1.0"))
        self.assertEqual(json.loads(body), {"__type": "com.amazonaws.sqs#InternalError", "message": "injected error"})

    def test_s3_is_throttled_with_slow_down(self):
        status, fields, body = error_response("s3:PutObject", "throttle")
        self.assertEqual((status, fields), (503, {"Content-Type": "application/xml"}))
        self.assertIn(b"<Code>SlowDown</Code>", body)
        self.assertIn(b"<Message>injected throttle</Message>", body)

    def test_an_s3_error_is_an_internal_error(self):
        status, _, body = error_response("s3:GetObject", "error")
        self.assertEqual(status, 500)
        self.assertIn(b"<Code>InternalError</Code>", body)


class ReadBodyTest(unittest.TestCase):
    def test_a_chunked_body_is_its_chunks_joined_and_the_trailer_is_read_past(self):
        stream = io.BytesIO(b"4;chunk-signature=ab\r\nWiki\r\n5\r\npedia\r\n0\r\nx-amz-checksum: c\r\n\r\nNEXT")
        self.assertEqual(read_body(headers(Transfer_Encoding="Chunked"), stream), b"Wikipedia")
        self.assertEqual(stream.read(), b"NEXT")

    def test_a_chunked_body_may_end_at_the_end_of_the_stream(self):
        self.assertEqual(read_body(headers(Transfer_Encoding="chunked"), io.BytesIO(b"3\r\nabc\r\n0\r\n")), b"abc")

    def test_a_body_with_a_length_is_that_many_bytes(self):
        stream = io.BytesIO(b"helloNEXT")
        self.assertEqual(read_body(headers(Content_Length="5"), stream), b"hello")
        self.assertEqual(stream.read(), b"NEXT")

    def test_no_length_is_no_body_and_reads_nothing(self):
        stream = io.BytesIO(b"NEXT")
        self.assertEqual(read_body(headers(), stream), b"")
        self.assertEqual(read_body(headers(Content_Length="0"), stream), b"")
        self.assertEqual(stream.read(), b"NEXT")


class HeadersTest(unittest.TestCase):
    def test_a_forwarded_request_drops_hop_by_hop_headers_and_has_the_bodys_length(self):
        incoming = headers(
            Host="127.0.0.1:1",
            Connection="keep-alive",
            Keep_Alive="timeout=5",
            Transfer_Encoding="chunked",
            X_Amz_Target="AmazonSQS.SendMessage",
        )
        self.assertEqual(
            upstream_headers(incoming, b"12345"),
            {"Host": "127.0.0.1:1", "X-Amz-Target": "AmazonSQS.SendMessage", "Content-Length": "5"},
        )

    def test_an_answer_drops_hop_by_hop_headers_and_its_length_unless_it_answers_a_head(self):
        answer = [("Content-Type", "application/json"), ("content-length", "42"), ("Connection", "close")]
        self.assertEqual(answer_headers(answer, "GET"), [("Content-Type", "application/json")])
        self.assertEqual(
            answer_headers(answer, "HEAD"), [("Content-Type", "application/json"), ("content-length", "42")]
        )


if __name__ == "__main__":
    unittest.main()

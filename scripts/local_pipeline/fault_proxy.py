"""A fault-injecting HTTP proxy in front of the local endpoint, for the reliability scenarios. Each request
is named after its service and operation (s3:PutObject, sqs:SendMessageBatch, ...) and, by the rule for
that name, answered with a server error, a throttling answer, a reset connection (before or after the
request reached the endpoint), a delay, or passed through."""

import http.client
import json
import random
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .usage import Tally

# What a request can meet, in the order the dice are read.
KINDS = ("error", "throttle", "reset", "reset_after", "delay")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


@dataclass
class Rule:
    """Chances per request of each fault; what is left passes through. `delay_seconds` is the delay's length."""

    error: float = 0.0
    throttle: float = 0.0
    reset: float = 0.0
    reset_after: float = 0.0
    delay: float = 0.0
    delay_seconds: float = 0.5

    def pick(self, dice):
        roll = dice.random()
        for kind in KINDS:
            chance = getattr(self, kind)
            if roll < chance:
                return kind
            roll -= chance
        return None


@dataclass
class Injected:
    requests: int = 0
    by_kind: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, kind):
        with self.lock:
            self.requests += 1
            if kind is not None:
                self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def total(self):
        with self.lock:
            return sum(self.by_kind.values())


def operation(method, path, query, headers):
    """`service:Operation` for a request the SDKs send."""
    target = headers.get("X-Amz-Target", "")
    if target.startswith("AmazonSQS."):
        return "sqs:" + target.split(".", 1)[1]
    if target.startswith("secretsmanager."):
        return "secretsmanager:" + target.split(".", 1)[1]
    parameters = urllib.parse.parse_qs(query, keep_blank_values=True)
    if "Action" in parameters:
        return "sqs:" + parameters["Action"][0]
    has_key = "/" in path.strip("/")
    if "uploadId" in parameters:
        if method == "PUT":
            return "s3:UploadPartCopy" if "x-amz-copy-source" in headers else "s3:UploadPart"
        return {"POST": "s3:CompleteMultipartUpload", "DELETE": "s3:AbortMultipartUpload"}.get(method, "s3:ListParts")
    if "uploads" in parameters:
        return "s3:CreateMultipartUpload"
    if not has_key:
        return {"GET": "s3:ListObjectsV2", "PUT": "s3:CreateBucket", "HEAD": "s3:HeadBucket"}.get(
            method, "s3:" + method
        )
    return {"GET": "s3:GetObject", "PUT": "s3:PutObject", "HEAD": "s3:HeadObject", "DELETE": "s3:DeleteObject"}.get(
        method, "s3:" + method
    )


def error_response(name, kind):
    """Status, headers and body of the error a service sends for `kind`."""
    if name.startswith("sqs:"):
        code, status = ("ThrottlingException", 400) if kind == "throttle" else ("InternalError", 500)
        body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": f"injected {kind}"}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{code};Sender"}, body
    code, status = ("SlowDown", 503) if kind == "throttle" else ("InternalError", 500)
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>injected {kind}</Message><RequestId>fault</RequestId></Error>"
    ).encode()
    return status, {"Content-Type": "application/xml"}, body


def rule_for(rules, name):
    """The Rule for an operation `name` in `rules`: its own, else its service's wildcard (`s3:*`), else `*`,
    else one that passes everything through."""
    service = name.split(":", 1)[0]
    return rules.get(name) or rules.get(f"{service}:*") or rules.get("*") or Rule()


class Faults:
    """Which fault, if any, each request meets: `rules` (see rule_for) read with seeded dice, so a run's
    faults repeat with its seed, and every decision counted in `injected`. `rules` may be changed while
    requests are decided."""

    def __init__(self, rules=None, seed=0):
        self.rules = dict(rules or {})
        self.injected = Injected()
        self._dice = random.Random(seed)
        self._dice_lock = threading.Lock()

    def rule(self, name):
        return rule_for(self.rules, name)

    def decide(self, name):
        with self._dice_lock:
            kind = self.rule(name).pick(self._dice)
        self.injected.count(kind)
        return kind


def read_body(headers, rfile):
    """A request's body from `rfile`: its chunks joined when it is sent chunked (the trailer read and
    dropped), else its Content-Length's bytes."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(rfile.readline().split(b";")[0], 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(rfile.read(size))
            rfile.readline()
    length = int(headers.get("Content-Length", 0))
    return rfile.read(length) if length else b""


def upstream_headers(headers, body):
    """The request's headers as forwarded: no hop-by-hop header, the Content-Length of the body as read."""
    forwarded = {name: value for name, value in headers.items() if name.lower() not in HOP_BY_HOP}
    forwarded["Content-Length"] = str(len(body))
    return forwarded


def answer_headers(headers, method):
    """The upstream answer's headers as sent back: no hop-by-hop header, and Content-Length only on a HEAD
    answer, where it is the object's size; any other is recomputed from the payload on the way back."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in HOP_BY_HOP and (name.lower() != "content-length" or method == "HEAD")
    ]


class FaultProxy:
    """Forwards to `upstream` (http://host:port) on a free loopback port. `rules` maps an operation name, a
    service wildcard (`s3:*`) or `*` to a Rule; it may be changed while the proxy runs."""

    def __init__(self, upstream, rules=None, seed=0):
        parsed = urllib.parse.urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.faults = Faults(rules, seed)
        self.tally = Tally()
        self.after_forward = None
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    @property
    def rules(self):
        return self.faults.rules

    @rules.setter
    def rules(self, rules):
        self.faults.rules = rules

    @property
    def injected(self):
        return self.faults.injected

    def rule(self, name):
        return self.faults.rule(name)

    def decide(self, name):
        return self.faults.decide(name)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A connection the proxy reset on purpose ends with an error here; it is not news."""


def _handler(proxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_request(self):
            url = urllib.parse.urlsplit(self.path)
            body = read_body(self.headers, self.rfile)
            name = operation(self.command, url.path, url.query, self.headers)
            kind = proxy.decide(name)
            if kind in ("error", "throttle"):
                return self._answer(*error_response(name, kind))
            if kind == "reset":
                return self._reset()
            if kind == "delay":
                time.sleep(proxy.rule(name).delay_seconds)
            status, headers, payload = self._forward(body)
            proxy.tally.add(name, body, payload, status)
            if proxy.after_forward is not None:
                proxy.after_forward(name, url.path, status)
            if kind == "reset_after":
                return self._reset()
            self._answer(status, headers, payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_request

        def _forward(self, body):
            connection = http.client.HTTPConnection(*proxy.upstream, timeout=300)
            try:
                connection.request(self.command, self.path, body=body, headers=upstream_headers(self.headers, body))
                response = connection.getresponse()
                payload = response.read()
                return response.status, answer_headers(response.getheaders(), self.command), payload
            finally:
                connection.close()

        def _answer(self, status, headers, payload):
            headers = list(headers.items() if isinstance(headers, dict) else headers)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if not any(name.lower() == "content-length" for name, _ in headers):
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _reset(self):
            """Closes the connection with a TCP reset and no answer."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

    return Handler

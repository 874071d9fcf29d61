"""A function as Lambda runs it: cargo lambda's Runtime API emulator on a loopback port with one or more
bootstrap processes polling it, each one execution environment that takes one invocation at a time."""

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

# The emulator serves the function that bootstraps register through AWS_LAMBDA_RUNTIME_API=.../.rt as "_".
INVOCATIONS_PATH = "/2015-03-31/functions/_/invocations"


@dataclass(frozen=True)
class Invocation:
    """What an invocation returned: the function's response, or its error (`ok` false)."""

    ok: bool
    payload: bytes

    def json(self):
        return json.loads(self.payload)


class FunctionError(RuntimeError):
    pass


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalFunction:
    """A context manager: entering starts the emulator and `instances` bootstraps, leaving stops them."""

    def __init__(self, name, bootstrap, environment, log_path, instances=1, timeout_seconds=900, memory_mb=256):
        self.name = name
        self.bootstrap = bootstrap
        self.environment = environment
        self.log_path = log_path
        self.instances = instances
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.port = free_port()
        self._stack = ExitStack()
        self._log = None
        self._environment = None
        self._instances = []
        self._instances_lock = threading.Lock()

    def __enter__(self):
        self._log = self._stack.enter_context(Path(self.log_path).open("w"))
        try:
            emulator = ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(self.port)]
            self._start(emulator, None)
            self._wait_for_port()
            env = dict(os.environ)
            env.update({name: str(value) for name, value in self.environment.items()})
            env.update(
                {
                    "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.port}/.rt",
                    "AWS_LAMBDA_FUNCTION_NAME": self.name,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
                    "AWS_LAMBDA_LOG_STREAM_NAME": "local",
                    "AWS_LAMBDA_LOG_FORMAT": "JSON",
                }
            )
            self._environment = env
            for _ in range(self.instances):
                self._instances.append(self._start([str(self.bootstrap)], env))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def kill_instances(self):
        """Kills every execution environment at once, as a crash would, and starts new ones, as Lambda
        would. Invocations they held get no answer and time out."""
        with self._instances_lock:
            for process in self._instances:
                process.kill()
            self._instances = [self._start([str(self.bootstrap)], self._environment) for _ in self._instances]

    def peak_memory_bytes(self):
        """The most resident memory any of its running execution environments has held so far (Linux's VmHWM,
        which the kernel keeps per process), or None where /proc does not say."""
        peaks = []
        with self._instances_lock:
            for process in self._instances:
                try:
                    status = Path(f"/proc/{process.pid}/status").read_text()
                except OSError:
                    return None
                found = [line.split()[1:] for line in status.splitlines() if line.startswith("VmHWM:")]
                if not found or found[0][1:] != ["kB"]:
                    return None
                peaks.append(int(found[0][0]) * 1024)
        return max(peaks, default=None)

    def _start(self, command, env):
        try:
            process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        except FileNotFoundError as error:
            raise FunctionError(f"{self.name}: cannot run {command[0]}: {error}") from error
        self._stack.callback(_stop, process)
        return process

    def _wait_for_port(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise FunctionError(
            f"{self.name}: the Runtime API emulator did not listen on port {self.port}; see {self.log_path}"
        )

    def invoke(self, payload: bytes) -> Invocation:
        """Invokes synchronously, as the event source mapping does. A timeout counts as a function error."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{INVOCATIONS_PATH}",
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return Invocation(True, response.read())
        except urllib.error.HTTPError as error:
            return Invocation(False, error.read())
        except (TimeoutError, urllib.error.URLError) as error:
            return Invocation(False, json.dumps({"errorType": "Invoke", "errorMessage": str(error)}).encode())


def _stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

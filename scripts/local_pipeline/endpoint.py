"""The endpoint everything here talks to: AWS_ENDPOINT_URL, refused unless it is on loopback, so nothing
ever reaches a real AWS account."""

import os
import urllib.parse


class NotLocal(RuntimeError):
    pass


def local_endpoint():
    """AWS_ENDPOINT_URL if it points at loopback; NotLocal otherwise."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    host = urllib.parse.urlparse(endpoint).hostname or ""
    if not (host.startswith("127.") or host == "localhost"):
        raise NotLocal(
            f"AWS_ENDPOINT_URL={endpoint!r} is not a local emulator on loopback; "
            "scripts/pipeline and scripts/test start one"
        )
    return endpoint

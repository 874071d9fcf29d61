"""Tests of the local pipeline against moto on loopback (AWS_ENDPOINT_URL, started by scripts/test)."""

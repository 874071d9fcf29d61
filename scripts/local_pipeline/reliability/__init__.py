"""Reliability scenarios: the pipeline end to end with faults injected between the functions and the local
endpoint (fault_proxy), a consumer killed after its write, many consumers on one object (above 5 MiB too,
where the consumer composes with UploadPartCopy), rollovers of the array into sealed segments, an S3
outage, malformed input, an erasure on request while the consumers append (the compactor run during the run,
through faults), and a hostile sender (dates out of range, thousands of dates, junk lines, and a gzip bomb in the
landing zone, with the compactor run after it). The producer packs five records to a message, so
every scenario carries packed messages. Each gives a row of the report: records sent, landed, duplicated, lost,
malformed messages set aside (in the error output, or the dead-letter queue without one), counted over the
array's whole history (its sealed segments, then the live array).

python -m local_pipeline.reliability [--write docs/reliability.md] [--scenario TEXT] runs them all, or those
whose name holds TEXT (scripts/reliability)."""

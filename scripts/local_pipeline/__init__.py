"""The whole pipeline on one machine: the template's queue, dead-letter queue and bucket on moto, the real
bootstraps behind cargo lambda's Runtime API emulator, a local SQS event source mapping, and DuckDB over the lake."""

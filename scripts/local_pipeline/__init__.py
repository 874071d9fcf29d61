"""The whole pipeline on one machine: the template's queue, dead-letter queue and bucket on moto, the real
bootstraps behind cargo lambda's Runtime API emulator, a local SQS event source mapping, and DuckDB over the
lake; and, on top of it, a fault-injecting proxy and the reliability scenarios."""

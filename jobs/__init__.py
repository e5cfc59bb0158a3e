"""Background jobs: the Postgres queue, the batched runner and the scheduler."""

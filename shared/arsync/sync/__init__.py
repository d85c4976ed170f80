"""Import, incremental sync, runs, leases and the queue (architecture §5)."""

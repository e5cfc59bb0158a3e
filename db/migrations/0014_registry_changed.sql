-- 0014: when the registry last changed. Every load that inserts or changes staging rows
-- sets it in the transaction that publishes them (db/registry.py mark_changed), so a
-- repeated search whose job finished after it knows its scores are current and queues
-- nothing. Existing databases start at the migration's time (earlier jobs are not reused).
CREATE TABLE registry_changed (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO registry_changed DEFAULT VALUES;

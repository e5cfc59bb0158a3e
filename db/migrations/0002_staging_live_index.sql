-- icp: no-transaction
-- Live entities first in the chat head step, without sorting a million rows.
-- Built CONCURRENTLY so applying it to a loaded registry does not block loads or chats.
CREATE INDEX CONCURRENTLY IF NOT EXISTS staging_live_ssic_uen_idx
    ON staging_acra_companies (primary_ssic_code, uen) WHERE is_live;

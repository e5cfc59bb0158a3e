-- icp: no-transaction
-- 0011: the chat's head is the true top of a search: per SSIC code, live rows by the
-- registry-only part of the score, so the head merges a few rows of each code's top.
-- Built CONCURRENTLY so applying it to a loaded registry does not block loads or chats.
CREATE INDEX CONCURRENTLY IF NOT EXISTS staging_live_ssic_prior_idx
    ON staging_acra_companies (primary_ssic_code, registry_prior DESC, uen) WHERE is_live;

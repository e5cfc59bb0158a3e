-- icp: no-transaction
-- 0011: the chat's head is the true top of a search: per SSIC code, live rows by the
-- registry-only part of the score, so the head merges a few rows of each code's top, by
-- primary code and (for companies whose primary code is not in the search) by secondary
-- code; the runner walks secondary matches by (secondary_ssic_code, uen), and the chat
-- counts them, from the second index alone (index-only: it includes the primary code and
-- the live flag). Built CONCURRENTLY so applying them to a loaded registry does not block
-- loads or chats. A search whose codes hold a large share of the registry walks the
-- whole registry's live rows by prior instead (staging_live_prior_idx, with both codes).
CREATE INDEX CONCURRENTLY IF NOT EXISTS staging_live_prior_idx
    ON staging_acra_companies (registry_prior DESC, uen)
    INCLUDE (primary_ssic_code, secondary_ssic_code) WHERE is_live;
CREATE INDEX CONCURRENTLY IF NOT EXISTS staging_live_ssic_prior_idx
    ON staging_acra_companies (primary_ssic_code, registry_prior DESC, uen) WHERE is_live;
CREATE INDEX CONCURRENTLY IF NOT EXISTS staging_live_secondary_prior_idx
    ON staging_acra_companies (secondary_ssic_code, registry_prior DESC, uen)
    INCLUDE (primary_ssic_code) WHERE is_live AND secondary_ssic_code IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS staging_secondary_uen_idx
    ON staging_acra_companies (secondary_ssic_code, uen)
    INCLUDE (primary_ssic_code, is_live) WHERE secondary_ssic_code IS NOT NULL;

-- icp: no-transaction
-- 0015: staging_live_ssic_uen_idx (0002, live rows by (primary_ssic_code, uen)) served
-- the chat's first head query; since 0011 the head walks the prior indexes and no route,
-- job or runner query reads it (tests/integration/test_query_plans.py EXPLAINs them all
-- at 250k rows under every statistics state). Every index on staging is rebuilt by each
-- load into an empty staging, so an unused one costs about a seventh of that build.
-- Dropped CONCURRENTLY so applying it to a loaded registry does not block readers.
DROP INDEX CONCURRENTLY IF EXISTS staging_live_ssic_uen_idx;

-- 0021: the same registry prior (0010) for less CPU per row. Every row a load writes
-- computes staging_acra_companies.registry_prior (a stored generated column) from these
-- functions, which the planner inlines; at 1M rows they were about 1.5 CPU-s of a load
-- into an empty staging. Two of their steps had cheaper equals:
-- * extract(... FROM date) returns numeric (PostgreSQL 14 on); date_part returns a
--   float8 that holds a year or a month exactly, so the month count is the same integer;
-- * AT TIME ZONE 'UTC' looks the zone name up on every call; a zero offset gives the same
--   UTC wall-clock time (UTC has no daylight saving) by arithmetic alone.
-- The results are unchanged for every date and timestamp, so the stored values stay valid
-- and nothing is recomputed (tests/integration/test_lead_score.py).
CREATE OR REPLACE FUNCTION icp_months_between(earlier date, later date) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (date_part('year', later)::int * 12 + date_part('month', later)::int)
         - (date_part('year', earlier)::int * 12 + date_part('month', earlier)::int);

CREATE OR REPLACE FUNCTION icp_snapshot(loaded_at timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (loaded_at AT TIME ZONE INTERVAL '0')::date;

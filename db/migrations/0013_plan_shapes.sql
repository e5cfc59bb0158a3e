-- 0013: no plan cliffs (issue 15). Two lists read data that lived in another table, so
-- the planner had to guess which side to start from, and guessed by the statistics:
--
-- * /leads?industry_code= filtered a tenant's scores by their company's SSIC code: it
--   walked the tenant's scores best first checking each company (1.1 s for a rare code)
--   or gathered every company of the code and sorted (fine only while the code is rare).
--   A score now carries its company's code (lead_scores.industry_code, byte-ordered like
--   a code range), and lead_scores_industry_rank_idx holds a tenant's scores per code,
--   best first: a page reads the first rows of each code of the prefix (leads.sql).
-- * /icp/searches counted each search's scores live (a seq scan of lead_scores: 220 ms
--   at 1M). Scores are now counted as they are written, per statement, into
--   icp_search_scored (one row per writing statement, no row that two writers update:
--   the runner and the chat never wait on each other's count); a list sums a search's rows.
ALTER TABLE lead_scores ADD COLUMN industry_code text COLLATE "C";
UPDATE lead_scores ls SET industry_code = c.industry_code
FROM companies c
WHERE c.company_id = ls.company_id AND c.industry_code IS NOT NULL;
CREATE INDEX lead_scores_industry_rank_idx
    ON lead_scores (tenant_id, industry_code, score DESC, company_id DESC, search_id DESC);

-- A writer that does not name the code (upsert_scored does) gets the company's.
CREATE FUNCTION lead_scores_fill_industry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.industry_code INTO NEW.industry_code FROM companies c
    WHERE c.company_id = NEW.company_id;
    RETURN NEW;
END $$;
CREATE TRIGGER lead_scores_fill_industry BEFORE INSERT ON lead_scores
    FOR EACH ROW WHEN (NEW.industry_code IS NULL)
    EXECUTE FUNCTION lead_scores_fill_industry();

-- A company whose registry code changed: every tenant's scores of it follow (one probe of
-- lead_scores_tenant_company_idx per tenant; a code rarely changes).
CREATE FUNCTION companies_industry_to_scores() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lead_scores ls SET industry_code = NEW.industry_code
    WHERE ls.tenant_id = ANY(ARRAY(SELECT DISTINCT s.tenant_id FROM icp_searches s))
      AND ls.company_id = NEW.company_id
      AND ls.industry_code IS DISTINCT FROM NEW.industry_code;
    RETURN NULL;
END $$;
CREATE TRIGGER companies_industry_to_scores AFTER UPDATE OF industry_code ON companies
    FOR EACH ROW WHEN (OLD.industry_code IS DISTINCT FROM NEW.industry_code)
    EXECUTE FUNCTION companies_industry_to_scores();

-- Scores per saved search: deltas, one row per statement that inserted or deleted scores.
CREATE TABLE icp_search_scored (
    search_id bigint NOT NULL REFERENCES icp_searches (search_id) ON DELETE CASCADE,
    n bigint NOT NULL
);
CREATE INDEX icp_search_scored_search_idx ON icp_search_scored (search_id) INCLUDE (n);
INSERT INTO icp_search_scored (search_id, n)
SELECT search_id, count(*) FROM lead_scores GROUP BY search_id;

-- One function for both triggers, each naming its transition table lead_scores_changed;
-- a search's own deletion cascades to its scores and its counts: nothing to record.
CREATE FUNCTION lead_scores_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO icp_search_scored (search_id, n)
    SELECT d.search_id, CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END
    FROM lead_scores_changed d
    WHERE TG_OP = 'INSERT'
       OR EXISTS (SELECT 1 FROM icp_searches s WHERE s.search_id = d.search_id)
    GROUP BY d.search_id;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_scores_count_inserted AFTER INSERT ON lead_scores
    REFERENCING NEW TABLE AS lead_scores_changed
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scores_count();
CREATE TRIGGER lead_scores_count_deleted AFTER DELETE ON lead_scores
    REFERENCING OLD TABLE AS lead_scores_changed
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scores_count();

CREATE FUNCTION lead_scores_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM icp_search_scored;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_scores_count_truncated AFTER TRUNCATE ON lead_scores
    FOR EACH STATEMENT EXECUTE FUNCTION lead_scores_count_truncated();

-- Jobs: a job's continuation is the first job whose parent it is, found in the parent's
-- own range of this index (without job_id in it, an unanalysed table walked every job by
-- id looking for the parent); the operator's list by status walks its status by id.
CREATE INDEX background_jobs_parent_job_idx ON background_jobs (parent_job_id, job_id)
    WHERE parent_job_id IS NOT NULL;
DROP INDEX background_jobs_parent_idx;
CREATE INDEX background_jobs_status_idx ON background_jobs (status, job_id DESC);

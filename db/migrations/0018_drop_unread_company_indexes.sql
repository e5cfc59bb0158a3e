-- 0018: two indexes of companies that no statement reads (issue 15): nothing filters or
-- sorts by website_domain or lower(industry_norm) (db/queries, the routes and the graph
-- only select them). Every company the runner or the chat upserts paid an entry in each:
-- on 152k rows of a 1M-row registry, one upsert_scored without the secondary indexes of
-- companies ran in 17 s instead of 27 s.
DROP INDEX IF EXISTS companies_website_domain_idx;
DROP INDEX IF EXISTS companies_lower_industry_norm_idx;

-- 0019: room for in-place (HOT) updates of companies and scores (issue 15). A job over
-- companies that already exist rewrites every row it touches (upsert_scored's ON CONFLICT
-- DO UPDATE), mostly with the same values in the indexed columns. At fillfactor 100 a
-- page has no room for the new version, so each update went to another page and added an
-- entry to every index of the table (four on companies after 0018, seven on lead_scores): random
-- writes into indexes that outgrow memory with the registry (runner rows/s at 3M rows was
-- 3.9x worse than at 25k). With 10 % of each page free the new version stays on its page
-- and no index is written. Pages written from now on keep the room; existing full pages
-- gain it as their old versions are pruned (or at once with VACUUM FULL).
ALTER TABLE companies SET (fillfactor = 90);
ALTER TABLE lead_scores SET (fillfactor = 90);

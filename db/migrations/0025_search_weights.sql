-- 0025: a saved search keeps the match weights it was first scored with. A saved search is
-- a tenant's SSIC code set, and the fit part of a score is 35 + 10 x how strongly the
-- search's words matched the code (0010), so two wordings of one code set ("cement" 1.0,
-- "construction companies for my cement business" 0.81) used to score its companies with
-- different fits: the second wording rescored the ten it showed (two points higher) while
-- the job of the first had scored the rest, and the list was no longer in true order.
-- Every wording of a code set now scores with the weights stored here (NULL until the
-- search is first used after this migration; db/companies.py ensure_search).
ALTER TABLE icp_searches ADD COLUMN weights real[];

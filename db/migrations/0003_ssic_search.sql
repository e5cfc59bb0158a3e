-- 0003: columns and indexes for resolving industry terms to SSIC codes (nodes/resolve.py).
-- title_core drops SSIC's generic tails ("... service activities", "... services",
-- "... trade"), so the term "real estate" names the title "REAL ESTATE ACTIVITIES".
-- The stored lexeme sets let the resolver find the title a term names by equality and
-- compare a term with a title or phrase without re-parsing either; the GiST trigram index
-- serves nearest-title lookups (`<->`) for typos.
ALTER TABLE ssic_ref
    ADD COLUMN title_core text GENERATED ALWAYS AS (
        regexp_replace(lower(title), '\s+(and related )?(service )?(activities|services|trade)$', '')
    ) STORED,
    ADD COLUMN title_lexemes tsvector GENERATED ALWAYS AS (
        strip(to_tsvector('english', title))
    ) STORED,
    ADD COLUMN core_lexemes tsvector GENERATED ALWAYS AS (
        strip(to_tsvector('english', regexp_replace(lower(title),
            '\s+(and related )?(service )?(activities|services|trade)$', '')))
    ) STORED;
CREATE INDEX ssic_ref_title_lexemes_idx ON ssic_ref (title_lexemes);
CREATE INDEX ssic_ref_core_lexemes_idx ON ssic_ref (core_lexemes);
CREATE INDEX ssic_ref_core_trgm_gist_idx ON ssic_ref USING gist (title_core gist_trgm_ops);

ALTER TABLE ssic_index_phrases
    ADD COLUMN lexemes tsvector GENERATED ALWAYS AS (strip(to_tsvector('english', phrase))) STORED;

-- The reference tables are loaded in bulk and then only read. With GIN's fast-update
-- pending list, every search would scan the unsorted list until the next (auto)vacuum.
ALTER INDEX ssic_ref_search_idx SET (fastupdate = off);
ALTER INDEX ssic_ref_title_trgm_idx SET (fastupdate = off);
ALTER INDEX ssic_index_phrases_search_idx SET (fastupdate = off);
ALTER INDEX ssic_index_phrases_trgm_idx SET (fastupdate = off);
SELECT gin_clean_pending_list(i::regclass)
FROM unnest(array['ssic_ref_search_idx', 'ssic_ref_title_trgm_idx',
                  'ssic_index_phrases_search_idx', 'ssic_index_phrases_trgm_idx']) AS i;

-- SSIC 2020 term resolution (nodes/resolve.py): all terms of a request in one round trip.
--
-- Parameters, parallel arrays with one element per term (built by nodes/resolve.py):
--   terms       the normalized term, abbreviations spelled out ("it" -> "information technology")
--   title_tsqs  to_tsquery('english') text matching title words (weight A), last word as prefix
--   phrase_tsqs the same without weights, for the alphabetical-index phrases
-- and the thresholds min_score, typo_score, max_nodes (documented in nodes/resolve.py).
--
-- Per term, candidates come from the GIN full-text indexes (titles of every level and the
-- index phrases); a term with no full-text hit at all may be a typo and looks up its
-- nearest titles by trigram distance (GiST index, migration 0003). A term that is a
-- title (same lexemes, or an unfinished first word of it, or a close typo) means that
-- node's whole subtree; otherwise the best max_nodes matches are kept. Chosen nodes are
-- expanded to their subclasses through the code-prefix columns. Output: one row per
-- (term, matched node, subclass), best node first.

-- name: resolve_ssic_terms
WITH input AS (
    SELECT u.ord,
           u.term,
           u.term ~ '^[0-9]{2,5}$' AS is_code,
           to_tsquery('english', u.title_tsq) AS title_q,
           to_tsquery('english', u.phrase_tsq) AS phrase_q,
           strip(to_tsvector('english', u.term)) AS lexemes
    FROM unnest(%(terms)s::text[], %(title_tsqs)s::text[], %(phrase_tsqs)s::text[])
         WITH ORDINALITY AS u(term, title_tsq, phrase_tsq, ord)
),
words AS (
    SELECT i.*, length(i.lexemes) AS n_lexemes
    FROM input i
    WHERE NOT i.is_code AND i.lexemes <> ''::tsvector
),
-- Titles the term names: the same lexemes as the title, or as the title without its
-- generic tail ("restaurant" is "Restaurants", "real estate" is "REAL ESTATE ACTIVITIES").
named AS (
    SELECT w.ord, r.code, r.level, r.section, r.title AS via_text
    FROM words w
    JOIN ssic_ref r ON r.title_lexemes = w.lexemes OR r.core_lexemes = w.lexemes
),
-- Other full-text hits on titles, for terms that name none. prefix: the term stops inside
-- the first word of a short title ("manufact"), i.e. the user is still typing it.
title_hits AS (
    SELECT w.ord, r.code, r.level, r.section, r.title AS via_text,
           left(r.title_core, length(w.term)) = w.term
               AND substr(r.title_core, length(w.term) + 1, 1) ~ '[[:alnum:]]'
               AND length(w.term) * 2 >= length(r.title_core) AS prefix,
           w.n_lexemes::real / greatest(length(r.title_lexemes), w.n_lexemes) AS coverage,
           strpos(lower(r.title), w.term) > 0 AS literal
    FROM words w
    JOIN ssic_ref r ON r.search_vector @@ w.title_q
    WHERE NOT EXISTS (SELECT 1 FROM named n WHERE n.ord = w.ord)
),
-- Index phrases, for terms that name no title and are not the start of one.
phrase_hits AS (
    SELECT w.ord, p.code, s.section, p.phrase AS via_text,
           p.lexemes = w.lexemes AS exact,
           w.n_lexemes::real / greatest(length(p.lexemes), w.n_lexemes) AS coverage,
           strpos(lower(p.phrase), w.term) > 0 AS literal
    FROM words w
    JOIN ssic_index_phrases p ON p.search_vector @@ w.phrase_q
    JOIN ssic_ref s ON s.code = p.code
    WHERE NOT EXISTS (SELECT 1 FROM named n WHERE n.ord = w.ord)
      AND NOT EXISTS (SELECT 1 FROM title_hits h WHERE h.ord = w.ord AND h.prefix)
),
-- Only terms without any full-text hit: the nearest title by trigram similarity (typos).
-- Materialized so the nearest-title lookup runs for those terms only.
unmatched AS MATERIALIZED (
    SELECT w.ord, w.term
    FROM words w
    WHERE NOT EXISTS (SELECT 1 FROM named n WHERE n.ord = w.ord)
      AND NOT EXISTS (SELECT 1 FROM title_hits h WHERE h.ord = w.ord)
      AND NOT EXISTS (SELECT 1 FROM phrase_hits h WHERE h.ord = w.ord)
),
typo_hits AS (
    SELECT u.ord, t.code, t.level, t.section, t.title AS via_text, t.sim
    FROM unmatched u
    CROSS JOIN LATERAL (
        SELECT r.code, r.level, r.section, r.title, similarity(r.title_core, u.term) AS sim
        FROM ssic_ref r
        ORDER BY r.title_core <-> u.term
        LIMIT 1
    ) t
),
-- near: the term names the node, so its whole subtree is meant. Other full-text hits
-- score 0.5..0.95 by the share of the text's words the term covers, and more when the
-- text holds the term as typed (stemming makes "accounting" match "own account").
scored AS (
    SELECT ord, code, level, section, via_text, true AS near, 1.0 AS score
    FROM named
    UNION ALL
    SELECT ord, code, level, section, via_text, prefix,
           CASE WHEN prefix THEN 0.9
                ELSE 0.5 + 0.3 * coverage + CASE WHEN literal THEN 0.15 ELSE 0 END
           END
    FROM title_hits
    UNION ALL
    SELECT ord, code, 'phrase', section, via_text, false,
           CASE WHEN exact THEN 1.0
                ELSE 0.5 + 0.3 * coverage + CASE WHEN literal THEN 0.15 ELSE 0 END
           END
    FROM phrase_hits
    UNION ALL
    SELECT ord, code, level, section, via_text, true, least(sim, 0.9)
    FROM typo_hits
    WHERE sim >= %(typo_score)s
    UNION ALL
    SELECT i.ord, r.code, r.level, r.section, r.title, true, 1.0
    FROM input i
    JOIN ssic_ref r ON i.is_code AND r.code = i.term
),
-- One row per term and node: a subclass named by several phrases keeps its best.
best_per_node AS (
    SELECT DISTINCT ON (ord, code) *,
           CASE level WHEN 'section' THEN 0 WHEN 'division' THEN 1 WHEN 'group' THEN 2
                      WHEN 'class' THEN 3 WHEN 'subclass' THEN 4 ELSE 5 END AS depth
    FROM scored
    WHERE score >= %(min_score)s
    ORDER BY ord, code, near DESC, score DESC, level <> 'phrase' DESC, via_text
),
ranked AS (
    SELECT *,
           bool_or(near) OVER (PARTITION BY ord) AS any_near,
           row_number() OVER (PARTITION BY ord
                              ORDER BY near DESC, score DESC, depth, code) AS rank
    FROM best_per_node
),
chosen AS (
    SELECT * FROM ranked
    WHERE rank <= CASE WHEN any_near THEN 1 ELSE %(max_nodes)s END
)
SELECT c.ord, c.code AS via_code, c.level AS via_level, c.via_text, c.score::float8 AS score,
       s.code, s.title
FROM chosen c
JOIN ssic_ref s
  ON s.section = c.section
 AND s.level = 'subclass'
 AND (c.level = 'section' OR s.division = c.code OR s.group_code = c.code
      OR s.class_code = c.code OR s.code = c.code)
ORDER BY c.ord, c.rank, s.code

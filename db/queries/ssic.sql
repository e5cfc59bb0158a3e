-- SSIC 2020 term resolution (nodes/resolve.py): candidates for every term of a request in
-- one round trip, then the chosen SSIC nodes expanded to their subclasses in a second.

-- name: vocabulary_candidates
-- Parameters, parallel arrays with one element per probe (built by nodes/resolve.py): a
-- term's probes are its full words ('full', generic nouns included), its industry words
-- ('core'), and the runs of those words ('span'); each with its vocabulary key (see
-- db/vocabulary.py), the key without spaces, its number of non-trivial words and a
-- to_tsquery('english') text ANDing its words (last one as a prefix). Then the typed words
-- that may be typos, with their bases (db/vocabulary.py: word_base). Thresholds: max_text
-- (full-text hits kept per term), near_k (nearest known words per unknown word).
--
-- Per probe: exact matches (same key, same key without spaces, or the same stemmed words
-- and number of words); for a term whose full or core words are no entry's key, keys its
-- core is the unfinished start of (prefix) and entries holding all its core words (full
-- text, shortest first). Per typed word the vocabulary does not know (its base is in no
-- entry): the nearest words of names by trigram distance, as rows with how = 'word'.
-- Everything is served by the indexes of migration 0007; the candidate lists are small,
-- the choice between them is made in nodes/resolve.py.
WITH probe AS MATERIALIZED (
    SELECT u.ord, u.pid, u.kind, u.key, u.squash, u.n_words, u.tsq,
           strip(to_tsvector('english', u.key)) AS lexemes
    FROM unnest(%(ords)s::int[], %(pids)s::int[], %(kinds)s::text[], %(keys)s::text[],
                %(squashes)s::text[], %(n_words)s::int[], %(tsqs)s::text[])
         AS u(ord, pid, kind, key, squash, n_words, tsq)
),
-- sim tells the kinds of exact match apart: the same key (1.0) beats the same key without
-- spaces (0.99) beats the same stemmed words (0.98: "securities" is not "security").
exact AS MATERIALIZED (
    SELECT DISTINCT ON (ord, pid, entry_id) ord, pid, entry_id, sim
    FROM (
        SELECT p.ord, p.pid, v.entry_id, 1.0::float8 AS sim
        FROM probe p JOIN ssic_vocabulary v ON v.key = p.key
        UNION ALL
        SELECT p.ord, p.pid, v.entry_id, 0.99
        FROM probe p JOIN ssic_vocabulary v ON v.squash = p.squash
        UNION ALL
        SELECT p.ord, p.pid, v.entry_id, 0.98
        FROM probe p
        JOIN ssic_vocabulary v ON v.lexemes = p.lexemes AND v.n_words = p.n_words
        -- every word must count: a stop word that carries meaning ("it", "other", "all")
        -- would otherwise vanish and make "it companies" equal "all companies".
        WHERE p.lexemes <> ''::tsvector AND length(p.lexemes) = p.n_words
          AND length(v.lexemes) = v.n_words
    ) m
    ORDER BY ord, pid, entry_id, sim DESC
),
-- Terms whose full or core words are an entry's key (a sales-channel phrase does not
-- count; nor does a match by stems alone, which nodes/resolve.py may reject as not an
-- inflection: "restaur" is not "restaurant").
named AS MATERIALIZED (
    SELECT DISTINCT e.ord
    FROM exact e
    JOIN probe p ON p.ord = e.ord AND p.pid = e.pid
    JOIN ssic_vocabulary v ON v.entry_id = e.entry_id
    WHERE p.kind IN ('full', 'core') AND e.sim > 0.98 AND (NOT v.other OR v.source = 'title')
),
prefix AS MATERIALIZED (
    SELECT p.ord, p.pid, v.entry_id, length(p.key)::float8 / length(v.key) AS sim
    FROM probe p
    JOIN ssic_vocabulary v ON v.key ~>=~ p.key AND v.key ~<~ (p.key || chr(1114111))
    WHERE p.kind = 'core' AND length(p.key) >= 4 AND p.key !~ '^[0-9 ]+$'
      AND v.source IN ('synonym', 'title', 'group')
      -- most of the key typed, or the start of a one-word key (nodes/resolve.py accepts
      -- the latter only when every such key means the same codes: "manuf")
      AND (length(p.key) * 5 >= length(v.key) * 3
           OR (length(p.key) >= 5 AND v.key !~ ' ' AND p.key !~ ' '))
      AND p.ord NOT IN (SELECT ord FROM named)
),
text_hits AS MATERIALIZED (
    SELECT ord, pid, entry_id, sim
    FROM (
        SELECT p.ord, p.pid, v.entry_id,
               length(p.lexemes)::float8 / greatest(length(v.lexemes), 1) AS sim,
               row_number() OVER (
                   PARTITION BY p.ord
                   ORDER BY v.other, length(v.lexemes), v.n_codes, v.entry_id
               ) AS rn
        FROM probe p
        JOIN ssic_vocabulary v ON v.search_vector @@ to_tsquery('english', p.tsq)
        WHERE p.kind = 'core' AND p.tsq <> '' AND v.source <> 'broad'
          AND p.ord NOT IN (SELECT ord FROM named)
          AND p.ord NOT IN (SELECT ord FROM prefix)
    ) t
    WHERE rn <= %(max_text)s
),
found AS MATERIALIZED (
    SELECT ord, pid, entry_id, 'exact' AS how, sim FROM exact
    UNION ALL SELECT ord, pid, entry_id, 'prefix', sim FROM prefix
    UNION ALL SELECT ord, pid, entry_id, 'text', sim FROM text_hits
),
unknown AS MATERIALIZED (
    SELECT t.i, t.word
    FROM unnest(%(words)s::text[], %(bases)s::text[]) WITH ORDINALITY AS t(word, base, i)
    WHERE NOT EXISTS (SELECT 1 FROM ssic_vocabulary_words k WHERE k.base = t.base)
)
SELECT f.ord, f.pid, f.how, f.sim, v.entry_id, v.source, v.phrase, v.key, v.codes, v.other,
       v.n_codes
FROM found f
-- LIMIT 1 keeps this a primary-key lookup per candidate (joined, the planner scanned the
-- whole table for a handful of rows).
CROSS JOIN LATERAL (SELECT * FROM ssic_vocabulary v WHERE v.entry_id = f.entry_id LIMIT 1) v
UNION ALL
SELECT 0, u.i::int, 'word', n.sim, 0, 'word', u.word, n.word, '{}'::text[], false, 0
FROM unknown u
CROSS JOIN LATERAL (
    SELECT k.word, similarity(k.word, u.word)::float8 AS sim
    FROM ssic_vocabulary_words k
    WHERE k.named
    ORDER BY k.word <-> u.word
    LIMIT %(near_k)s
) n
ORDER BY 1, 2, 3, 5

-- name: ssic_subtrees
-- The SSIC nodes (any level, by code) with their title and every subclass below them,
-- through the code-prefix columns of ssic_ref (section C: every subclass in 10-32).
SELECT n.code AS node, r.level, r.title,
       array_agg(s.code ORDER BY s.code) AS codes,
       array_agg(s.title ORDER BY s.code) AS titles
FROM unnest(%(nodes)s::text[]) AS n(code)
JOIN ssic_ref r ON r.code = n.code
JOIN ssic_ref s
  ON s.section = r.section
 AND s.level = 'subclass'
 AND (r.level = 'section' OR s.division = r.code OR s.group_code = r.code
      OR s.class_code = r.code OR s.code = r.code)
GROUP BY n.code, r.level, r.title

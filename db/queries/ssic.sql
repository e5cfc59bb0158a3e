-- SSIC 2020 term resolution (nodes/resolve.py): the exact matches of every term of a request
-- in one round trip; for the terms none names, the fuzzy candidates in a second.

-- name: vocabulary_exact
-- Parameters, parallel arrays with one element per probe (built by nodes/resolve.py): a
-- term's probes are its full words ('full', generic nouns included), its industry words
-- ('core'), and the runs of its words ('span'); each with its vocabulary key (see
-- db/vocabulary.py), the key without spaces and its number of non-trivial words.
--
-- Per probe, the entries it names exactly: the same key (sim 1.0), the same key without
-- spaces (0.99: "ecommerce"), or the same stemmed words and number of words (0.98:
-- "bakeries" is "bakery"; nodes/resolve.py rejects stems that are not inflections,
-- "hospitals" is not "hospitality"). A last row (ord -1) carries the checksums of the SSIC
-- reference and of the vocabulary, so nodes/resolve.py knows whether its copies of the
-- hierarchy and of fuzzy answers are current.
-- Every term of a request in one round trip, by the btree indexes of migration 0007.
WITH probe AS MATERIALIZED (
    SELECT u.ord, u.pid, u.key, u.squash, u.n_words,
           strip(to_tsvector('english', u.key)) AS lexemes
    FROM unnest(%(ords)s::int[], %(pids)s::int[], %(keys)s::text[], %(squashes)s::text[],
                %(n_words)s::int[])
         AS u(ord, pid, key, squash, n_words)
)
SELECT p.ord, p.pid, 1.0::float8 AS sim, v.entry_id, v.source, v.phrase, v.key, v.codes,
       v.other, v.n_codes
FROM probe p JOIN ssic_vocabulary v ON v.key = p.key
UNION ALL
SELECT p.ord, p.pid, 0.99, v.entry_id, v.source, v.phrase, v.key, v.codes, v.other, v.n_codes
FROM probe p JOIN ssic_vocabulary v ON v.squash = p.squash AND v.key <> p.key
UNION ALL
SELECT p.ord, p.pid, 0.98, v.entry_id, v.source, v.phrase, v.key, v.codes, v.other, v.n_codes
FROM probe p
JOIN ssic_vocabulary v ON v.lexemes = p.lexemes AND v.n_words = p.n_words
-- every word must count: a stop word that carries meaning ("it", "other", "all") would
-- otherwise vanish and make "it companies" equal "all companies".
WHERE p.lexemes <> ''::tsvector AND length(p.lexemes) = p.n_words
  AND length(v.lexemes) = v.n_words AND v.squash <> p.squash
UNION ALL
SELECT -1, 0, 0, 0, 'reference', string_agg(checksum, ' ' ORDER BY name), '', '{}'::text[],
       false, 0
FROM reference_data WHERE name IN ('ssic2020', 'ssic_vocabulary')
HAVING count(*) > 0

-- name: vocabulary_fuzzy
-- For the terms no entry names exactly: parameters as vocabulary_exact for their 'core'
-- probes, plus a to_tsquery('english') text ANDing each one's words (the last also as a
-- prefix); then the typed words that may be typos, with their bases (db/vocabulary.py:
-- word_base). Thresholds: max_text (full-text hits kept per term), near_k (nearest words
-- per unknown word).
--
-- Per term: keys its words are the unfinished start of (how 'prefix'); if none, entries
-- holding all its words, shortest first (how 'text'). Per typed word whose base no entry
-- uses: the nearest words of names by trigram distance (how 'word'). The choice between
-- them is made in nodes/resolve.py.
WITH probe AS MATERIALIZED (
    SELECT u.ord, u.pid, u.key, u.tsq, strip(to_tsvector('english', u.key)) AS lexemes
    FROM unnest(%(ords)s::int[], %(pids)s::int[], %(keys)s::text[], %(tsqs)s::text[])
         AS u(ord, pid, key, tsq)
),
prefix AS MATERIALIZED (
    SELECT p.ord, p.pid, v.entry_id, length(p.key)::float8 / length(v.key) AS sim
    FROM probe p
    JOIN ssic_vocabulary v ON v.key ~>=~ p.key AND v.key ~<~ (p.key || chr(1114111))
    WHERE length(p.key) >= 4 AND p.key !~ '^[0-9 ]+$'
      AND v.source IN ('synonym', 'title', 'group')
      -- most of the key typed, or the start of a one-word key (nodes/resolve.py accepts
      -- the latter only when every such key means the same codes: "manuf")
      AND (length(p.key) * 5 >= length(v.key) * 3
           OR (length(p.key) >= 5 AND v.key !~ ' ' AND p.key !~ ' '))
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
        WHERE p.tsq <> '' AND v.source <> 'broad'
          AND p.ord NOT IN (SELECT ord FROM prefix)
    ) t
    WHERE rn <= %(max_text)s
),
found AS MATERIALIZED (
    SELECT ord, pid, entry_id, 'prefix' AS how, sim FROM prefix
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

-- name: ssic_tree
-- The whole SSIC 2020 hierarchy (1,711 codes): nodes/resolve.py keeps a copy per process,
-- checked against the reference checksum vocabulary_exact returns.
SELECT code, level, title, section, division, group_code, class_code
FROM ssic_ref
ORDER BY code

-- 0007: the search vocabulary (db/vocabulary.py builds it at load time from the SSIC 2020
-- titles, alphabetical index and definitions, the sales grouping and the curated synonyms;
-- nodes/resolve.py matches what a user typed against it).
-- A term matches an entry exactly by key, by key without spaces ("ecommerce"), or by the
-- same stemmed words (lexemes and the same number of words: "bakeries" is "bakery",
-- "furniture manufacturing" is "manufacture of furniture"); otherwise as the unfinished
-- start of a key (prefix) or by full text (the entry holds all the term's words).
-- codes: the SSIC nodes the entry names (section letter .. subclass); n_codes: the
-- subclasses below them; other: an "Other ..."/n.e.c. title or a sales-channel variant.
CREATE TABLE ssic_vocabulary (
    entry_id integer PRIMARY KEY,
    source text NOT NULL
        CHECK (source IN ('broad', 'synonym', 'title', 'group', 'index', 'definition')),
    phrase text NOT NULL,
    key text NOT NULL,
    squash text NOT NULL,
    n_words smallint NOT NULL,
    codes text[] NOT NULL,
    n_codes integer NOT NULL,
    other boolean NOT NULL DEFAULT false,
    lexemes tsvector GENERATED ALWAYS AS (strip(to_tsvector('english', key))) STORED,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', key)) STORED,
    UNIQUE (source, key)
);
-- text_pattern_ops: equality and the prefix range (~>=~ / ~<~) of unfinished words.
CREATE INDEX ssic_vocabulary_key_idx ON ssic_vocabulary (key text_pattern_ops);
CREATE INDEX ssic_vocabulary_squash_idx ON ssic_vocabulary (squash);
CREATE INDEX ssic_vocabulary_lexemes_idx ON ssic_vocabulary (lexemes, n_words);
CREATE INDEX ssic_vocabulary_search_idx ON ssic_vocabulary USING gin (search_vector)
    WITH (fastupdate = off);

-- Every word the vocabulary uses, with its base (db/vocabulary.py: known_words) and whether
-- a name (synonym, title, sales group) uses it. A typed word whose base is here is a real
-- word and never read as a typo; an unknown one may be a typo of the nearest words of
-- names (trigram distance, GiST on those words only).
CREATE TABLE ssic_vocabulary_words (
    word text PRIMARY KEY,
    base text NOT NULL,
    named boolean NOT NULL
);
CREATE INDEX ssic_vocabulary_words_base_idx ON ssic_vocabulary_words (base);
CREATE INDEX ssic_vocabulary_words_trgm_idx ON ssic_vocabulary_words
    USING gist (word gist_trgm_ops) WHERE named;

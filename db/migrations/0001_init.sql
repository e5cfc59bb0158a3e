-- 0001: the product's schema. Migrations are the only source of schema.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The registry exactly as ACRA publishes it (53 columns), one row per UEN.
CREATE TABLE staging_acra_companies (
    uen text PRIMARY KEY,
    issuance_agency_id text,
    entity_name text NOT NULL,
    entity_type_description text,
    business_constitution_description text,
    company_type_description text,
    paf_constitution_description text,
    entity_status_description text,
    registration_incorporation_date date,
    uen_issue_date date,
    address_type text,
    block text,
    street_name text,
    level_no text,
    unit_no text,
    building_name text,
    postal_code text,
    other_address_line1 text,
    other_address_line2 text,
    account_due_date date,
    annual_return_date date,
    primary_ssic_code text CHECK (primary_ssic_code ~ '^[0-9]{5}$'),
    primary_ssic_description text,
    primary_user_described_activity text,
    secondary_ssic_code text CHECK (secondary_ssic_code ~ '^[0-9]{5}$'),
    secondary_ssic_description text,
    secondary_user_described_activity text,
    no_of_officers integer,
    former_entity_name1 text,
    former_entity_name2 text,
    former_entity_name3 text,
    former_entity_name4 text,
    former_entity_name5 text,
    former_entity_name6 text,
    former_entity_name7 text,
    former_entity_name8 text,
    former_entity_name9 text,
    former_entity_name10 text,
    former_entity_name11 text,
    former_entity_name12 text,
    former_entity_name13 text,
    former_entity_name14 text,
    former_entity_name15 text,
    uen_of_audit_firm1 text,
    name_of_audit_firm1 text,
    uen_of_audit_firm2 text,
    name_of_audit_firm2 text,
    uen_of_audit_firm3 text,
    name_of_audit_firm3 text,
    uen_of_audit_firm4 text,
    name_of_audit_firm4 text,
    uen_of_audit_firm5 text,
    name_of_audit_firm5 text,
    is_live boolean GENERATED ALWAYS AS (entity_status_description ILIKE 'live%') STORED,
    source_file text,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
-- Hot path of the chat head step and the runner's keyset walk.
CREATE INDEX staging_ssic_uen_idx ON staging_acra_companies (primary_ssic_code, uen);

-- Exact matching-row counts per SSIC code, maintained by the loader, so the chat and
-- the preview count a million-row registry by summing a few hundred small rows.
CREATE TABLE staging_ssic_counts (
    code text PRIMARY KEY,
    n bigint NOT NULL CHECK (n >= 0),
    n_live bigint NOT NULL CHECK (n_live >= 0)
);

-- Every SSIC 2020 level: section (A-U), division (2), group (3), class (4), subclass (5).
CREATE TABLE ssic_ref (
    code text PRIMARY KEY,
    level text NOT NULL CHECK (level IN ('section', 'division', 'group', 'class', 'subclass')),
    section text NOT NULL,
    division text,
    group_code text,
    class_code text,
    parent_code text REFERENCES ssic_ref (code) DEFERRABLE INITIALLY DEFERRED,
    title text NOT NULL,
    definition text,
    examples text,
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', coalesce(examples, '')), 'C')
    ) STORED
);
CREATE INDEX ssic_ref_search_idx ON ssic_ref USING gin (search_vector);
CREATE INDEX ssic_ref_title_trgm_idx ON ssic_ref USING gin (lower(title) gin_trgm_ops);
CREATE INDEX ssic_ref_parent_idx ON ssic_ref (parent_code);
CREATE INDEX ssic_ref_section_idx ON ssic_ref (section, level);

-- SSIC 2020 alphabetical index: everyday activity phrases mapped to subclasses.
CREATE TABLE ssic_index_phrases (
    phrase_id serial PRIMARY KEY,
    code text NOT NULL REFERENCES ssic_ref (code),
    phrase text NOT NULL,
    skills_framework_id text,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', phrase)) STORED
);
CREATE INDEX ssic_index_phrases_search_idx ON ssic_index_phrases USING gin (search_vector);
CREATE INDEX ssic_index_phrases_trgm_idx ON ssic_index_phrases USING gin (lower(phrase) gin_trgm_ops);
CREATE INDEX ssic_index_phrases_code_idx ON ssic_index_phrases (code);

-- Shipped reference data sets and the checksum they were loaded from.
CREATE TABLE reference_data (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    rows integer NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- Companies built from the registry and enriched; shared by all tenants.
CREATE TABLE companies (
    company_id bigserial PRIMARY KEY,
    uen text NOT NULL,
    name text NOT NULL,
    industry_norm text,
    industry_code text,
    website_domain text,
    employees_est integer,
    incorporation_year integer,
    incorporation_date date,
    entity_status text,
    is_live boolean,
    entity_type text,
    company_type text,
    officers integer,
    postal_code text,
    address text,
    address_complete boolean,
    enriched_by text,
    enriched_at timestamptz,
    last_seen timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT companies_uen_key UNIQUE (uen)
);
CREATE INDEX companies_lower_industry_norm_idx ON companies (lower(industry_norm));
CREATE INDEX companies_lower_name_idx ON companies (lower(name) text_pattern_ops, company_id);
CREATE INDEX companies_website_domain_idx ON companies (website_domain);
CREATE INDEX companies_industry_code_idx ON companies (industry_code text_pattern_ops, company_id);

-- Scores are per tenant: each tenant's ICP terms score the same company differently.
CREATE TABLE lead_scores (
    tenant_id text NOT NULL,
    company_id bigint NOT NULL REFERENCES companies (company_id) ON DELETE CASCADE,
    score smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    bucket text NOT NULL CHECK (bucket IN ('high', 'medium', 'low')),
    rationale text NOT NULL,
    terms text[] NOT NULL DEFAULT '{}',
    job_id bigint,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, company_id)
);
CREATE INDEX lead_scores_rank_idx ON lead_scores (tenant_id, score DESC, company_id DESC);

-- A Postgres job queue: queued -> running -> done | error | cancelled.
CREATE TABLE background_jobs (
    job_id bigserial PRIMARY KEY,
    tenant_id text NOT NULL,
    job_type text NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'error', 'cancelled')),
    params jsonb NOT NULL DEFAULT '{}',
    request_key text NOT NULL,
    processed bigint NOT NULL DEFAULT 0 CHECK (processed >= 0),
    total bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
    cursor jsonb,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_until timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    parent_job_id bigint REFERENCES background_jobs (job_id) ON DELETE SET NULL,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One live job per tenant and normalized request: the database enforces idempotent enqueue.
CREATE UNIQUE INDEX background_jobs_active_request_key
    ON background_jobs (tenant_id, job_type, request_key)
    WHERE status IN ('queued', 'running');
CREATE INDEX background_jobs_claim_idx ON background_jobs (run_after, job_id) WHERE status = 'queued';
CREATE INDEX background_jobs_lease_idx ON background_jobs (lease_until) WHERE status = 'running';
CREATE INDEX background_jobs_tenant_idx ON background_jobs (tenant_id, job_id DESC);
CREATE INDEX background_jobs_tenant_status_idx ON background_jobs (tenant_id, status, job_id DESC);
CREATE INDEX background_jobs_ended_idx ON background_jobs (ended_at)
    WHERE status IN ('done', 'error', 'cancelled');

-- Per-run statistics of each stage (the runner writes stage = 'staging_upsert').
CREATE TABLE run_stage_stats (
    stat_id bigserial PRIMARY KEY,
    job_id bigint REFERENCES background_jobs (job_id) ON DELETE CASCADE,
    tenant_id text NOT NULL,
    stage text NOT NULL,
    rows bigint NOT NULL DEFAULT 0,
    batches integer NOT NULL DEFAULT 0,
    p50_ms double precision,
    p95_ms double precision,
    errors integer NOT NULL DEFAULT 0,
    duration_ms double precision,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz
);
CREATE INDEX run_stage_stats_job_idx ON run_stage_stats (job_id);

-- Per-tenant settings: the rollout enables tenants one by one with a mode override.
CREATE TABLE tenant_settings (
    tenant_id text PRIMARY KEY,
    staging_upsert_mode text CHECK (staging_upsert_mode IN ('background', 'off', 'sync_preview')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per scheduler fire: with several replicas only the first insert runs the queue.
CREATE TABLE scheduler_fires (
    job_name text NOT NULL,
    fire_time timestamptz NOT NULL,
    fired_by text NOT NULL,
    fired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_name, fire_time)
);

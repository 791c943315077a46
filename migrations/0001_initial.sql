CREATE TABLE domains (
    id          serial PRIMARY KEY,
    domain      varchar(254) NOT NULL CONSTRAINT domains_domain_key UNIQUE
                CONSTRAINT domains_domain_check
                CHECK (domain ~ '^[a-z0-9_-]+(\.[a-z0-9_-]+)+$' AND length(domain) <= 254),
    created_at  timestamptz NOT NULL DEFAULT now(),
    tracking    jsonb NOT NULL DEFAULT '{"opens":"identified","links":"identified"}',
    unsubscribe varchar(16) NOT NULL DEFAULT 'hosted' CHECK (unsubscribe IN ('hosted', 'off'))
);

-- Keys are retired, not deleted, so a rotated selector can be withdrawn from DNS after mail signed
-- with it has been verified; a retired key no longer signs.
CREATE TABLE dkim_keys (
    id          serial PRIMARY KEY,
    domain      varchar(254) NOT NULL REFERENCES domains (domain) ON DELETE CASCADE,
    selector    varchar(63) NOT NULL DEFAULT 'kannon',
    algorithm   varchar(32) NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    private_key text NOT NULL,
    public_key  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz NULL,
    CONSTRAINT dkim_keys_domain_selector_key UNIQUE (domain, selector)
);

-- One signing key per algorithm, so an Ed25519 key can sign beside the RSA one.
CREATE UNIQUE INDEX dkim_keys_active_algorithm_idx ON dkim_keys (domain, algorithm) WHERE retired_at IS NULL;

CREATE TABLE api_keys (
    id             varchar(512) PRIMARY KEY,
    name           varchar(100) NOT NULL,
    domain         varchar(254) NOT NULL REFERENCES domains (domain) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NULL,
    is_active      boolean NOT NULL DEFAULT true,
    deactivated_at timestamptz NULL,
    key_hash       varchar(64) NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    key_prefix     varchar(10) NOT NULL,
    CONSTRAINT api_keys_deactivated_at_check CHECK (is_active OR deactivated_at IS NOT NULL)
);

CREATE INDEX api_keys_active_key_hash_idx ON api_keys (key_hash) WHERE is_active;
CREATE INDEX api_keys_domain_idx ON api_keys (domain);
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at) WHERE expires_at IS NOT NULL;

-- Deleting a template sets deleted_at: Deliveries still waiting to be built need its html.
CREATE TABLE templates (
    id          serial PRIMARY KEY,
    template_id varchar NOT NULL CONSTRAINT templates_template_id_key UNIQUE,
    html        text NOT NULL,
    domain      varchar(254) NOT NULL REFERENCES domains (domain),
    type        varchar(16) NOT NULL DEFAULT 'transient' CHECK (type IN ('transient', 'template')),
    title       varchar(200) NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz NULL
);

-- Keyset paging of a domain's templates: (created_at, id) is a stable order.
CREATE INDEX templates_listing_idx ON templates (domain, created_at, id)
    WHERE deleted_at IS NULL AND type = 'template';

CREATE TABLE messages (
    message_id   varchar PRIMARY KEY,
    subject      text NOT NULL,
    sender_email varchar(320) NOT NULL,
    sender_alias varchar(100) NOT NULL,
    -- RESTRICT: a template a Batch still uses must not vanish (upstream had no FK and orphaned Deliveries).
    template_id  varchar NOT NULL REFERENCES templates (template_id) ON DELETE RESTRICT,
    domain       varchar(254) NOT NULL REFERENCES domains (domain),
    headers      jsonb NOT NULL DEFAULT '{}',
    -- The policy as the caller stated it (provenance); the effective one is frozen on each Delivery.
    tracking     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX messages_domain_idx ON messages (domain);
-- Without it, the RESTRICT check scans messages for every template hard-deleted by a cleanup.
CREATE INDEX messages_template_id_idx ON messages (template_id);

CREATE TABLE message_attachments (
    message_id varchar NOT NULL REFERENCES messages (message_id) ON DELETE CASCADE,
    filename   varchar(255) NOT NULL,
    content    bytea NOT NULL,
    PRIMARY KEY (message_id, filename)
);

-- No terminal statuses: a Delivery's row is deleted once it is delivered, bounced, rejected or failed.
CREATE TABLE sending_pool_emails (
    id                      bigserial PRIMARY KEY,
    scheduled_time          timestamptz NOT NULL DEFAULT now(),
    -- Base of the retry backoff and of the retry budget; scheduled_time moves, this does not.
    original_scheduled_time timestamptz NOT NULL,
    send_attempts_cnt       integer NOT NULL DEFAULT 0,
    email                   varchar(320) NOT NULL,
    message_id              varchar NOT NULL REFERENCES messages (message_id),
    fields                  jsonb NOT NULL DEFAULT '{}',
    status                  varchar(20) NOT NULL DEFAULT 'to_validate'
                            CHECK (status IN ('to_validate', 'validating', 'scheduled', 'dispatching', 'sending')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    domain                  varchar(254) NOT NULL,
    -- Resolved at intake and frozen, so a later policy change does not alter mail already accepted.
    tracking                jsonb NOT NULL DEFAULT '{"opens":"identified","links":"identified"}',
    claimed_at              timestamptz NULL,
    -- Per-row updates are keyed by (email, message_id); a recipient repeated in one request fails the insert.
    CONSTRAINT sending_pool_emails_email_message_id_key UNIQUE (email, message_id)
);

-- Claims look for work by status and due time; reclaims look for in-flight rows by claim age.
CREATE INDEX sending_pool_emails_claimable_idx ON sending_pool_emails (status, scheduled_time)
    WHERE status IN ('to_validate', 'scheduled');
CREATE INDEX sending_pool_emails_in_flight_idx ON sending_pool_emails (status, claimed_at)
    WHERE status IN ('validating', 'dispatching', 'sending');
CREATE INDEX sending_pool_emails_message_id_idx ON sending_pool_emails (message_id);

CREATE TABLE stats (
    id         bigserial PRIMARY KEY,
    type       varchar(20) NOT NULL,
    email      varchar(320) NOT NULL,
    message_id varchar NOT NULL,
    domain     varchar(254) NOT NULL,
    timestamp  timestamptz NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    -- JetStream delivers at least once: a redelivered event carries the same publisher timestamp
    -- and collides here instead of being counted twice.
    CONSTRAINT stats_event_key UNIQUE (type, message_id, email, timestamp)
);

CREATE INDEX stats_domain_timestamp_idx ON stats (domain, timestamp DESC, id DESC);
CREATE INDEX stats_timestamp_idx ON stats (timestamp);
CREATE INDEX stats_message_id_idx ON stats (message_id);

-- timestamp is the start of a UTC hour: hours can be re-bucketed into any time zone's days.
CREATE TABLE aggregated_stats (
    domain    varchar(254) NOT NULL,
    timestamp timestamptz NOT NULL,
    type      varchar(20) NOT NULL,
    count     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, timestamp, type)
);

CREATE TABLE stats_keys (
    id              varchar PRIMARY KEY,
    algorithm       varchar(16) NOT NULL DEFAULT 'HS256',
    secret          text NOT NULL,
    creation_time   timestamptz NOT NULL DEFAULT now(),
    expiration_time timestamptz NOT NULL
);

CREATE INDEX stats_keys_expiration_time_idx ON stats_keys (expiration_time);

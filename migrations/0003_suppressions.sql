-- Addresses a sending domain no longer delivers to. One row per (domain, email): the first evidence
-- wins and later reports for the same address change nothing. Per domain, so one tenant's list never
-- affects another's.
CREATE TABLE suppressions (
    domain       varchar(254) NOT NULL REFERENCES domains (domain) ON DELETE CASCADE,
    email        varchar(320) NOT NULL,
    reason       varchar(16) NOT NULL
                 CHECK (reason IN ('hard_bounce', 'complaint', 'unsubscribe', 'manual')),
    -- Evidence: enhanced status code (e.g. 5.1.1), diagnostic text, the Batch that caused it,
    -- where it came from (reporting MTA, "rcpt", "tracker", "api") and when it was observed.
    status_code  varchar(16) NOT NULL DEFAULT '',
    diagnostic   text NOT NULL DEFAULT '',
    message_id   varchar NOT NULL DEFAULT '',
    source       varchar(255) NOT NULL DEFAULT '',
    note         text NOT NULL DEFAULT '',
    observed_at  timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, email)
);

-- Listing by reason, newest first.
CREATE INDEX suppressions_domain_reason_idx ON suppressions (domain, reason, created_at DESC);

-- Audit trail of removals: what was removed, by whom and why.
CREATE TABLE suppression_removals (
    id          bigserial PRIMARY KEY,
    domain      varchar(254) NOT NULL,
    email       varchar(320) NOT NULL,
    reason      varchar(16) NOT NULL,
    note        text NOT NULL DEFAULT '',
    removed_at  timestamptz NOT NULL DEFAULT now()
);

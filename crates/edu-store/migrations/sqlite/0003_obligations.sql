-- EduPlan schema: reporting obligations (issue 4) — returns with their versions, signed zero statements, review
-- events, idempotency keys, summable values for plan metrics, health line-list cases and alerts to the district.
-- Conventions as in 0001: instants BIGINT ms UTC; business dates TEXT 'YYYY-MM-DD' (China time); sensitive values
-- SM4-GCM ciphertext (BLOB) encrypted by the application.

-- One row per (obligation, institution, period): the return's current state. Its content lives in versions.
CREATE TABLE obligation_returns (
    id                 INTEGER PRIMARY KEY,
    obligation         TEXT NOT NULL,
    institution_id     BIGINT NOT NULL REFERENCES institutions (id),
    period             TEXT NOT NULL,
    period_start       TEXT NOT NULL,
    period_end         TEXT NOT NULL,
    -- Kind of the current version (a correction may turn a zero report into a report).
    kind               TEXT NOT NULL CHECK (kind IN ('report', 'zero')),
    state              TEXT NOT NULL CHECK (state IN ('submitted', 'sent_back', 'approved')),
    -- Timeliness of the first version (never changed by corrections).
    timeliness         TEXT NOT NULL CHECK (timeliness IN ('on_time', 'late')),
    late_by_seconds    BIGINT NOT NULL,
    due_at             BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    first_submitted_at BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    version            BIGINT NOT NULL,
    has_cases          BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (obligation, institution_id, period)
);
-- Status and "missing today" for a whole city: every return of an obligation whose period starts in a range,
-- answered from the index alone.
CREATE INDEX obligation_returns_by_period
    ON obligation_returns (obligation, period_start, institution_id, period, kind, timeliness, first_submitted_at);
-- A school's calendar and history, and the health baseline of one school.
CREATE INDEX obligation_returns_by_institution
    ON obligation_returns (institution_id, obligation, period_start);

-- Every version of a return, oldest first; never updated (corrections add a version).
CREATE TABLE obligation_return_versions (
    return_id       BIGINT NOT NULL REFERENCES obligation_returns (id),
    version         BIGINT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('report', 'zero')),
    -- Normalised values with the form's sensitive cells removed.
    values_json     TEXT NOT NULL,
    -- The sensitive cells (line-list identities, symptoms, notes) as SM4-GCM ciphertext of a JSON object.
    sensitive_enc   BLOB,
    submitted_by    TEXT NOT NULL,
    submitted_by_id BIGINT,
    at_ms           BIGINT NOT NULL,
    reason          TEXT,
    -- HMAC-SM3 (audit key) over obligation, institution, period, version, kind, the full values, submitter, time.
    mac             TEXT NOT NULL,
    PRIMARY KEY (return_id, version)
);

-- A zero report is an explicit statement signed by its submitter, sealed with an HMAC-SM3.
CREATE TABLE obligation_zero_statements (
    return_id    BIGINT NOT NULL REFERENCES obligation_returns (id),
    version      BIGINT NOT NULL,
    statement    TEXT NOT NULL,
    statement_en TEXT NOT NULL,
    signed_by    TEXT NOT NULL,
    signed_by_id BIGINT,
    signed_at    BIGINT NOT NULL,
    note         TEXT,
    mac          TEXT NOT NULL,
    PRIMARY KEY (return_id, version)
);

-- What happened to a return: submitted, corrected, approved, sent back, reopened.
CREATE TABLE obligation_return_events (
    id         INTEGER PRIMARY KEY,
    return_id  BIGINT NOT NULL REFERENCES obligation_returns (id),
    kind       TEXT NOT NULL CHECK (kind IN ('submitted', 'corrected', 'approved', 'sent_back', 'reopened')),
    by_user    TEXT NOT NULL,
    by_user_id BIGINT,
    at_ms      BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    reason     TEXT
);
CREATE INDEX obligation_return_events_by_return ON obligation_return_events (return_id, id);

-- The non-zero summable fields of the current version (the obligation's declared `fields`), for plan metrics in SQL.
CREATE TABLE obligation_return_values (
    return_id BIGINT NOT NULL REFERENCES obligation_returns (id),
    field     TEXT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (return_id, field)
);

-- Client-supplied idempotency keys: a retried request finds its first result instead of counting twice.
CREATE TABLE obligation_idempotency (
    user_id      BIGINT NOT NULL,
    key          TEXT NOT NULL,
    obligation   TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    return_id    BIGINT NOT NULL REFERENCES obligation_returns (id),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Health line-list cases, followed from first report until closed. Recomputed from the school's reports whenever
-- it files one. The person reference is encrypted; the blind index matches it across days.
CREATE TABLE obligation_health_cases (
    id             INTEGER PRIMARY KEY,
    obligation     TEXT NOT NULL,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    case_no        BIGINT NOT NULL,
    person_index   TEXT NOT NULL,
    person_enc     BLOB NOT NULL,
    person_masked  TEXT NOT NULL,
    person_kind    TEXT,
    class_name     TEXT,
    onset_date     TEXT,
    first_reported TEXT NOT NULL,
    last_reported  TEXT NOT NULL,
    status         TEXT,
    closed_on      TEXT,
    -- [[date, status], …] of every report row (statuses are not personal data).
    history_json   TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (obligation, institution_id, case_no)
);
CREATE INDEX obligation_health_cases_open ON obligation_health_cases (obligation, closed_on, institution_id);

-- Alerts raised to the district: absence spikes and class clusters of the daily health report.
CREATE TABLE obligation_alerts (
    id             INTEGER PRIMARY KEY,
    obligation     TEXT NOT NULL,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    kind           TEXT NOT NULL,
    alert_date     TEXT NOT NULL,
    -- The watched field (spike) or the class (cluster).
    subject        TEXT NOT NULL,
    audience       TEXT NOT NULL,
    observed       BIGINT NOT NULL,
    baseline       DOUBLE PRECISION,
    threshold      DOUBLE PRECISION,
    explanation    TEXT NOT NULL,
    explanation_en TEXT NOT NULL,
    -- Line-list rows of a cluster as (report date, row index): never identities.
    cases_json     TEXT NOT NULL,
    raised_at      BIGINT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged')),
    handled_by     TEXT,
    handled_at     BIGINT,
    note           TEXT,
    UNIQUE (obligation, institution_id, kind, alert_date, subject)
);
CREATE INDEX obligation_alerts_by_date ON obligation_alerts (alert_date, status);

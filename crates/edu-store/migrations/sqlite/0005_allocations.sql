-- EduPlan schema: fair-allocation runs (四零承诺, issue 5).
-- A run is prepared (inputs frozen with pseudonymous ids, the bureau's commitment recorded), drawn (the secret is
-- revealed, a public beacon entered, seed = SHA-256(secret ‖ beacon ‖ input_digest), outputs and bundle stored),
-- published (public page) and, for class divisions, optionally applied to the registry. Each stage is audited.
-- The public directory of a run (bundle.json, inputs/<role>.csv, outputs) is kept as one deterministic zip archive
-- sealed with an HMAC by the application and checked on every read for publication (SECURITY.md DATA-02).
-- Digests are stored as base64url, not hex (no long digit runs in the database file: SECURITY.md DATA-01 check).

CREATE TABLE allocation_runs (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('balance', 'admit', 'teachers', 'seats', 'duty', 'election')),
    title          TEXT NOT NULL,
    district_code  TEXT NOT NULL REFERENCES org_units (code),
    -- NULL for district runs (admission).
    institution_id BIGINT REFERENCES institutions (id),
    grade          BIGINT,
    class_id       BIGINT REFERENCES classes (id),
    source         TEXT NOT NULL CHECK (source IN ('registry', 'upload')),
    -- The draw command's options (JSON object, as recorded in the bundle).
    options_json   TEXT NOT NULL,
    -- Why together/apart/fixed constraints or other policy cases were entered (shown on the published page).
    policy_note    TEXT NOT NULL DEFAULT '',
    input_digest   TEXT NOT NULL,
    -- SHA-256(secret), published before the draw; 'system' = generated and shown once, 'notary' = entered.
    commitment     TEXT NOT NULL,
    commitment_by  TEXT NOT NULL CHECK (commitment_by IN ('system', 'notary')),
    status         TEXT NOT NULL CHECK (status IN ('prepared', 'drawn', 'published')),
    archive        BLOB NOT NULL,
    mac            TEXT NOT NULL,
    beacon         TEXT NOT NULL DEFAULT '',
    draw_time      TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    drawn_by       TEXT NOT NULL DEFAULT '',
    drawn_at       BIGINT,
    published_at   BIGINT,
    applied_at     BIGINT
);
CREATE INDEX allocation_runs_by_scope ON allocation_runs (district_code, institution_id, created_at);
CREATE INDEX allocation_runs_by_status ON allocation_runs (status, published_at);

-- Who is behind each pseudonymous id of a run (never published).
CREATE TABLE allocation_members (
    run_id    BIGINT NOT NULL REFERENCES allocation_runs (id),
    pseudonym TEXT NOT NULL,
    pupil_id  BIGINT REFERENCES pupils (id),
    staff_id  BIGINT REFERENCES staff (id),
    PRIMARY KEY (run_id, pseudonym)
);
CREATE INDEX allocation_members_by_pupil ON allocation_members (pupil_id);

-- Manual changes after the draw (PII-04): each with its reason, shown on the published page, sealed with an HMAC.
CREATE TABLE allocation_overrides (
    id         INTEGER PRIMARY KEY,
    run_id     BIGINT NOT NULL REFERENCES allocation_runs (id),
    pseudonym  TEXT NOT NULL,
    from_value TEXT NOT NULL,
    to_value   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at_ms      BIGINT NOT NULL,
    mac        TEXT NOT NULL
);
CREATE INDEX allocation_overrides_by_run ON allocation_overrides (run_id, id);

-- Pupils of one class (seating, duty rota, class sizes): without it every class lookup scans all pupils.
CREATE INDEX IF NOT EXISTS allocation_pupils_by_class ON pupils (class_id, status);

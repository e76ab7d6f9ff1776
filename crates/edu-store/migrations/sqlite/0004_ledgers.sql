-- EduPlan schema, part 4: ledgers (issue 7). Cases of every ledger declared in the plan and their full history,
-- attachments (photos, PDFs), site plans, key areas with dated camera / police-link states, vetting of external staff.
-- Security guards and their certificates are the registry's (staff.role = 'security_guard', staff_certificates).
-- Conventions as in 0001: instants BIGINT ms UTC, business dates TEXT 'YYYY-MM-DD' China time, sensitive values
-- SM4-GCM ciphertext produced by the application (AAD = table:column:row key), never clear text.

-- One row per case, holding its current state. The values of non-sensitive fields are JSON; sensitive fields
-- (complainant identity, phones, evidence) are one encrypted JSON object. The deadline and escalation columns are
-- computed by the ledger engine at every step, so lists can ask "overdue at now" in SQL.
CREATE TABLE ledger_cases (
    id               INTEGER PRIMARY KEY,
    ledger           TEXT NOT NULL,
    case_key         TEXT NOT NULL UNIQUE,
    institution_id   BIGINT NOT NULL REFERENCES institutions (id),
    state            TEXT NOT NULL,
    closed           BOOLEAN NOT NULL,
    severity         TEXT,
    level            TEXT,
    title            TEXT NOT NULL DEFAULT '',
    values_json      TEXT NOT NULL,
    sensitive_enc    BLOB,
    assignees        TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    opened_on        TEXT NOT NULL,
    state_entered_at BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deadline_at      BIGINT,
    district_at      BIGINT,
    city_at          BIGINT,
    closed_at        BIGINT,
    late             BOOLEAN NOT NULL DEFAULT FALSE,
    next_review      TEXT,
    version          BIGINT NOT NULL
);
CREATE INDEX ledger_cases_by_institution ON ledger_cases (ledger, institution_id, closed);
CREATE INDEX ledger_cases_by_deadline ON ledger_cases (ledger, closed, deadline_at);

-- Every step of every case: who, when, which action, from and to which state, what changed. Each row also keeps
-- the case's status right after the step (closed, deadline, level, late), so counts can be taken as of any
-- instant. Append-only.
CREATE TABLE ledger_history (
    case_id       BIGINT NOT NULL REFERENCES ledger_cases (id),
    seq           BIGINT NOT NULL,
    at_ms         BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    role          TEXT NOT NULL,
    action        TEXT NOT NULL,
    from_state    TEXT,
    to_state      TEXT NOT NULL,
    changes_json  TEXT NOT NULL,
    sensitive_enc BLOB,
    note          TEXT,
    closed        BOOLEAN NOT NULL,
    deadline_at   BIGINT,
    level         TEXT,
    late          BOOLEAN NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE INDEX ledger_history_by_time ON ledger_history (case_id, at_ms);

CREATE TRIGGER ledger_history_is_append_only_update BEFORE UPDATE ON ledger_history
BEGIN
    SELECT RAISE(ABORT, 'ledger_history is append-only');
END;

CREATE TRIGGER ledger_history_is_append_only_delete BEFORE DELETE ON ledger_history
BEGIN
    SELECT RAISE(ABORT, 'ledger_history is append-only');
END;

-- Attachments are stored in the database (one backup holds everything), under a server-generated name; the
-- uploader's file name is not kept. Type checked by magic bytes, size capped, JPEG location data removed by the
-- application before it gets here. `case_id` is NULL until a step of a case claims the attachment.
CREATE TABLE ledger_attachments (
    id             INTEGER PRIMARY KEY,
    token          TEXT NOT NULL UNIQUE,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    case_id        BIGINT REFERENCES ledger_cases (id),
    field          TEXT NOT NULL DEFAULT '',
    file_name      TEXT NOT NULL,
    content_type   TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    size           BIGINT NOT NULL CHECK (size > 0 AND size <= 10485760),
    sha256         TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    BIGINT NOT NULL,
    content        BLOB NOT NULL
);
CREATE INDEX ledger_attachments_by_case ON ledger_attachments (case_id);

-- Completed checklists (daily patrols, weekly checks, campaigns): who, where, when, counts and answers. Failed
-- items became cases of the ledger in the same transaction.
CREATE TABLE checklist_runs (
    id             INTEGER PRIMARY KEY,
    ledger         TEXT NOT NULL,
    checklist      TEXT NOT NULL,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    inspector      TEXT NOT NULL,
    run_on         TEXT NOT NULL,
    passed         BIGINT NOT NULL,
    failed         BIGINT NOT NULL,
    not_applicable BIGINT NOT NULL,
    results_json   TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX checklist_runs_by_institution ON checklist_runs (institution_id, ledger, checklist, run_on);

-- One site plan (校园平面图) per institution, the background of its risk map. Uploads are PNG or JPEG; an SVG is
-- only ever one the platform generated itself (the demo city), never an upload.
CREATE TABLE site_plans (
    institution_id BIGINT PRIMARY KEY REFERENCES institutions (id),
    content_type   TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/svg+xml')),
    width          BIGINT NOT NULL CHECK (width > 0),
    height         BIGINT NOT NULL CHECK (height > 0),
    size           BIGINT NOT NULL,
    sha256         TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    BIGINT NOT NULL,
    content        BLOB NOT NULL
);

-- Key areas (重点要害部位) and their dated states: camera coverage and the link of the video to the police network.
-- A change closes the open state row and opens a new one, so coverage can be counted as of any date.
CREATE TABLE key_areas (
    id             INTEGER PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    name           TEXT NOT NULL,
    area_type      TEXT NOT NULL CHECK (area_type IN ('gate', 'dormitory', 'canteen', 'lab', 'perimeter', 'playground', 'boiler', 'storage', 'other')),
    created_on     TEXT NOT NULL,
    retired_on     TEXT
);
CREATE INDEX key_areas_by_institution ON key_areas (institution_id);

CREATE TABLE key_area_states (
    id          INTEGER PRIMARY KEY,
    key_area_id BIGINT NOT NULL REFERENCES key_areas (id),
    camera      BOOLEAN NOT NULL,
    police_link BOOLEAN NOT NULL CHECK (camera OR NOT police_link),
    cameras     BIGINT NOT NULL DEFAULT 0 CHECK (cameras >= 0),
    valid_from  TEXT NOT NULL,
    valid_to    TEXT
);
CREATE INDEX key_area_states_by_area ON key_area_states (key_area_id, valid_from);

-- Background checks of external staff (外聘人员背景审查: canteen, cleaning, contractors, drivers, outsourced guards).
-- The ID number is encrypted (AAD row key = its blind index) and shown masked.
CREATE TABLE vetting_records (
    id               INTEGER PRIMARY KEY,
    institution_id   BIGINT NOT NULL REFERENCES institutions (id),
    name             TEXT NOT NULL,
    id_number_enc    BLOB NOT NULL,
    id_number_masked TEXT NOT NULL,
    id_number_index  TEXT NOT NULL,
    post             TEXT NOT NULL CHECK (post IN ('security', 'canteen', 'cleaning', 'driver', 'contractor', 'tutor', 'other')),
    employer         TEXT NOT NULL DEFAULT '',
    checked_on       TEXT NOT NULL,
    result           TEXT NOT NULL CHECK (result IN ('clear', 'flagged', 'pending')),
    valid_until      TEXT,
    note             TEXT NOT NULL DEFAULT '',
    recorded_by      TEXT NOT NULL,
    recorded_at      BIGINT NOT NULL
);
CREATE INDEX vetting_records_by_institution ON vetting_records (institution_id, checked_on);

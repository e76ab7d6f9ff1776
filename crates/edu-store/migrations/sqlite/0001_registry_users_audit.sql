-- EduPlan schema, part 1: org tree, registry, users, sessions, audit.
-- Append-only: never edit a migration that has shipped; add a new file.
-- Conventions (shared with the PostgreSQL schema): instants are BIGINT milliseconds since the Unix epoch, UTC;
-- business dates are TEXT 'YYYY-MM-DD' in China time; intervals are [valid_from, valid_to) with NULL = open;
-- codes are TEXT; sensitive fields are SM4-GCM ciphertext (BLOB) plus, where looked up, an HMAC-SM3 blind index.

CREATE TABLE app_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE org_units (
    code        TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES org_units (code),
    level       TEXT NOT NULL CHECK (level IN ('city', 'district')),
    name        TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    is_county   BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE institutions (
    id             INTEGER PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    district_code  TEXT NOT NULL REFERENCES org_units (code),
    kind           TEXT NOT NULL,
    ownership      TEXT NOT NULL CHECK (ownership IN ('public', 'private')),
    inclusive      BOOLEAN NOT NULL DEFAULT FALSE,
    area           TEXT NOT NULL CHECK (area IN ('urban', 'rural')),
    authority      TEXT NOT NULL CHECK (authority IN ('city', 'district')),
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    address        TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    capacity       BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX institutions_by_district ON institutions (district_code, kind);

-- Status history: ownership, inclusive recognition, open/closed, over time (a private kindergarten becoming
-- inclusive; a residential-compound kindergarten handed over to public ownership).
CREATE TABLE institution_history (
    id             INTEGER PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    ownership      TEXT NOT NULL,
    inclusive      BOOLEAN NOT NULL,
    status         TEXT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT,
    note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX institution_history_by_institution ON institution_history (institution_id, valid_from);

CREATE TABLE institution_tags (
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    tag            TEXT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT,
    PRIMARY KEY (institution_id, tag, valid_from)
);
CREATE INDEX institution_tags_by_tag ON institution_tags (tag);

-- Education groups (教育集团) and rural school alliances (农村学校联盟).
CREATE TABLE org_groups (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('education_group', 'rural_alliance')),
    name                TEXT NOT NULL,
    district_code       TEXT REFERENCES org_units (code),
    lead_institution_id BIGINT REFERENCES institutions (id),
    UNIQUE (kind, name)
);

CREATE TABLE org_group_members (
    group_id       BIGINT NOT NULL REFERENCES org_groups (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    PRIMARY KEY (group_id, institution_id)
);
CREATE INDEX org_group_members_by_institution ON org_group_members (institution_id);

CREATE TABLE rooms (
    id             INTEGER PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL DEFAULT 'classroom',
    capacity       BIGINT NOT NULL,
    UNIQUE (institution_id, name)
);

CREATE TABLE staff (
    id              INTEGER PRIMARY KEY,
    staff_no        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    sex             TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date      TEXT NOT NULL,
    institution_id  BIGINT NOT NULL REFERENCES institutions (id),
    role            TEXT NOT NULL,
    subjects        TEXT NOT NULL DEFAULT '',
    hire_date       TEXT NOT NULL,
    special_post    BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'left')),
    left_on         TEXT,
    phone_enc       BLOB,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX staff_by_institution ON staff (institution_id, role, status);

CREATE TABLE staff_certificates (
    id         INTEGER PRIMARY KEY,
    staff_id   BIGINT NOT NULL REFERENCES staff (id),
    kind       TEXT NOT NULL,
    number     TEXT NOT NULL,
    issued_on  TEXT,
    expires_on TEXT,
    UNIQUE (staff_id, kind)
);
CREATE INDEX staff_certificates_by_expiry ON staff_certificates (expires_on);

CREATE TABLE classes (
    id              INTEGER PRIMARY KEY,
    institution_id  BIGINT NOT NULL REFERENCES institutions (id),
    grade           BIGINT NOT NULL,
    name            TEXT NOT NULL,
    head_teacher_id BIGINT REFERENCES staff (id),
    room_id         BIGINT REFERENCES rooms (id),
    UNIQUE (institution_id, grade, name)
);

CREATE TABLE pupils (
    id               INTEGER PRIMARY KEY,
    pupil_no_index   TEXT NOT NULL UNIQUE,
    pupil_no_enc     BLOB NOT NULL,
    pupil_no_masked  TEXT NOT NULL,
    name             TEXT NOT NULL,
    sex              TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date       TEXT NOT NULL,
    institution_id   BIGINT NOT NULL REFERENCES institutions (id),
    grade            BIGINT NOT NULL,
    class_id         BIGINT REFERENCES classes (id),
    status           TEXT NOT NULL CHECK (status IN ('enrolled', 'transferred', 'graduated', 'left')),
    enrolled_on      TEXT NOT NULL,
    special_needs    BOOLEAN NOT NULL DEFAULT FALSE,
    boarder          BOOLEAN NOT NULL DEFAULT FALSE,
    guardian_phone_enc BLOB,
    address_enc      BLOB,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX pupils_by_institution ON pupils (institution_id, status, grade, class_id);
CREATE INDEX pupils_by_name ON pupils (name);

-- Status history of each pupil: where and in which state over time.
CREATE TABLE pupil_history (
    id             INTEGER PRIMARY KEY,
    pupil_id       BIGINT NOT NULL REFERENCES pupils (id),
    status         TEXT NOT NULL,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    grade          BIGINT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT,
    reason         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pupil_history_by_pupil ON pupil_history (pupil_id, valid_from);
CREATE INDEX pupil_history_by_institution ON pupil_history (institution_id, status, valid_from);

-- Population by single year of age, per district and year, registered (户籍) or resident (常住).
CREATE TABLE population (
    district_code TEXT NOT NULL REFERENCES org_units (code),
    year          BIGINT NOT NULL,
    age           BIGINT NOT NULL CHECK (age >= 0 AND age <= 120),
    basis         TEXT NOT NULL CHECK (basis IN ('registered', 'resident')),
    count         BIGINT NOT NULL CHECK (count >= 0),
    PRIMARY KEY (district_code, year, age, basis)
);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    scope_code           TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    password_changed_at  BIGINT NOT NULL,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        BIGINT NOT NULL DEFAULT 0,
    first_failed_at      BIGINT,
    locked_until         BIGINT,
    last_login_at        BIGINT,
    expires_at           BIGINT,
    created_at           BIGINT NOT NULL
);

CREATE TABLE password_history (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX password_history_by_user ON password_history (user_id, created_at);

-- Sessions are stored by the SHA-256 of their token, never the token itself.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL CHECK (kind IN ('web', 'api')),
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- The audit trail: append-only, each row sealed with an HMAC-SM3 over the previous row's hash and its own fields.
-- No personal data values are written here, only object types and internal IDs.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at_ms       BIGINT NOT NULL,
    tz          TEXT NOT NULL,
    actor_id    BIGINT,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    ip          TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    result      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, at_ms);

CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be updated');
END;

-- Only the retention purge may delete, and never a row younger than 180 days (SECURITY.md AUD-04).
CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
WHEN OLD.at_ms > (CAST(strftime('%s', 'now') AS INTEGER) - 180 * 86400) * 1000
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows younger than 180 days cannot be deleted');
END;

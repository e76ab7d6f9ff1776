-- EduPlan schema: 选课走班 (issue 6) — course-choice windows, students' choices, solver runs.
-- Conventions as in 0001: BIGINT ms instants (UTC), TEXT 'YYYY-MM-DD' business dates (China time), valid PostgreSQL.

-- A course-choice window of one senior high for one grade; `settings_json` holds the timetable settings
-- (periods, subjects, teachers taking part, vacancies, blocked slots) as written by the application.
CREATE TABLE tt_windows (
    id             INTEGER PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    grade          BIGINT NOT NULL CHECK (grade BETWEEN 10 AND 12),
    title          TEXT NOT NULL,
    opens_on       TEXT NOT NULL,
    closes_on      TEXT NOT NULL,
    rule           TEXT NOT NULL DEFAULT 'hlj-3+1+2',
    settings_json  TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CHECK (closes_on >= opens_on)
);
CREATE INDEX tt_windows_by_institution ON tt_windows (institution_id, grade);

-- One row per pupil with a choice: the first subject (physics or history) and the two re-chosen subjects,
-- `elective_1` < `elective_2` so a combination has exactly one spelling.
CREATE TABLE tt_choices (
    window_id  BIGINT NOT NULL REFERENCES tt_windows (id),
    pupil_id   BIGINT NOT NULL REFERENCES pupils (id),
    track      TEXT NOT NULL CHECK (track IN ('phy', 'his')),
    elective_1 TEXT NOT NULL CHECK (elective_1 IN ('chem', 'bio', 'pol', 'geo')),
    elective_2 TEXT NOT NULL CHECK (elective_2 IN ('chem', 'bio', 'pol', 'geo')),
    entered_by TEXT NOT NULL,
    entered_at BIGINT NOT NULL,
    PRIMARY KEY (window_id, pupil_id),
    CHECK (elective_1 < elective_2)
);

-- A solver run: the instance it was given and, when finished, the solution and the independent check report
-- (all in the eduplan-zouban formats). Only status 'valid' (zero hard violations) counts as a timetable.
CREATE TABLE tt_runs (
    id               INTEGER PRIMARY KEY,
    window_id        BIGINT NOT NULL REFERENCES tt_windows (id),
    status           TEXT NOT NULL CHECK (status IN ('running', 'valid', 'invalid', 'infeasible', 'not_found', 'failed')),
    seed             BIGINT NOT NULL,
    budget_seconds   BIGINT NOT NULL,
    hint_run_id      BIGINT REFERENCES tt_runs (id),
    started_by       TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    solve_ms         BIGINT,
    students         BIGINT NOT NULL,
    teaching_classes BIGINT,
    lower_bound      BIGINT,
    hard_violations  BIGINT,
    instance_json    TEXT NOT NULL,
    solution_json    TEXT,
    report_json      TEXT,
    stats_json       TEXT,
    explanation_json TEXT,
    note             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tt_runs_by_window ON tt_runs (window_id, id);

-- EduPlan schema, part 2: the work plan.
-- Daily scorecard snapshots: what each target stood at, per org unit, on each day (the trend on the scorecard).
CREATE TABLE plan_snapshots (
    plan_id     TEXT NOT NULL,
    taken_on    TEXT NOT NULL,
    org_code    TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    value       DOUBLE PRECISION,
    numerator   DOUBLE PRECISION,
    denominator DOUBLE PRECISION,
    status      TEXT NOT NULL,
    PRIMARY KEY (plan_id, org_code, target_id, taken_on)
);

-- The enrolment facts scan pupil history by state and date.
CREATE INDEX pupil_history_by_status ON pupil_history (status, valid_from, valid_to, institution_id, grade, pupil_id);

-- EduPlan schema: timetables. (Reserved; filled in by the timetables capability.)
SELECT 1;

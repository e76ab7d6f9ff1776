-- EduPlan schema: plan. (Reserved; filled in by the plan capability.)
SELECT 1;

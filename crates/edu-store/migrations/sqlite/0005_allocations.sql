-- EduPlan schema: allocations. (Reserved; filled in by the allocations capability.)
SELECT 1;

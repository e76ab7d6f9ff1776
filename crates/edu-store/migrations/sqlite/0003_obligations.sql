-- EduPlan schema: obligations. (Reserved; filled in by the obligations capability.)
SELECT 1;

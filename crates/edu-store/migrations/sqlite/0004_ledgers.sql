-- EduPlan schema: ledgers. (Reserved; filled in by the ledgers capability.)
SELECT 1;

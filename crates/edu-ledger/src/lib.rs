//! Ledgers: case workflows with deadlines and escalation, LEC risk grading, ledger metrics. Pure.

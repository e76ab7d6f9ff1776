//! Reporting obligations: forms, cadences, windows, zero reports, completeness and timeliness metrics, anomaly alerts. Pure.

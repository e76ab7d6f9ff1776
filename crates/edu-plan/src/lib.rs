//! The work plan as data: plan file, metric catalogue, indicator expressions and target evaluation. Pure.

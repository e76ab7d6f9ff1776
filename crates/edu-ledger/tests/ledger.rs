//! Ledgers as the platform uses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use edu_ledger::*;

fn defs() -> BTreeMap<String, LedgerDef> {
    parse_ledger_defs(DAQING_2021_DEFS).unwrap_or_else(|e| panic!("defs must parse: {e}"))
}

#[test]
fn plan_defs_parse() {
    let d = defs();
    assert_eq!(d.len(), 6);
}

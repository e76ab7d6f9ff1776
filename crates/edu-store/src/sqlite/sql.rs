//! Query-building pieces shared by the SQLite stores of every capability.

use sqlx::{QueryBuilder, Sqlite};

use crate::records::ScopeFilter;

/// Appends the scope condition on the institutions alias `i`.
pub(super) fn push_scope(builder: &mut QueryBuilder<Sqlite>, scope: &ScopeFilter) {
    match scope {
        ScopeFilter::All => {}
        ScopeFilter::District(code) => {
            builder
                .push(" AND i.district_code = ")
                .push_bind(code.clone());
        }
        ScopeFilter::Institution(id) => {
            builder.push(" AND i.id = ").push_bind(*id);
        }
    }
}

/// Appends `AND <column> IN (…)` with every value bound (nothing for an empty list). `column` is SQL written by the
/// caller, never input.
pub(super) fn push_in(builder: &mut QueryBuilder<Sqlite>, column: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    builder.push(" AND ").push(column).push(" IN (");
    let mut list = builder.separated(", ");
    for v in values {
        list.push_bind(v.clone());
    }
    list.push_unseparated(")");
}

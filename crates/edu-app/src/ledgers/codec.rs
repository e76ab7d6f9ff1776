//! Between the engine's [`Case`] and the stored rows: values split into clear and encrypted (sensitive) parts,
//! the status columns computed by the engine at every step, and back.

use edu_form::Values;
use edu_ledger::{
    Case, EscalationLevel, FieldChange, HistoryEntry, LedgerDef, Role as LedgerRole, case_status,
    state_deadline, was_late,
};
use edu_store::ledgers::{CaseRecord, CaseWrite, HistoryRecord, HistoryWrite};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::crypto::KeyRing;
use crate::error::AppError;

const CASE_TABLE: &str = "ledger_cases";
const HISTORY_TABLE: &str = "ledger_history";
const SENSITIVE: &str = "sensitive";

/// True for a top-level field marked sensitive (stored encrypted).
pub(crate) fn is_sensitive(def: &LedgerDef, field: &str) -> bool {
    def.form.field(field).is_some_and(|f| f.sensitive)
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn role_of(code: &str) -> LedgerRole {
    LedgerRole::ALL
        .into_iter()
        .find(|r| r.as_str() == code)
        .unwrap_or(LedgerRole::System)
}

/// The case's level for lists and metrics: the level field (risk level, hazard grade).
pub(crate) fn level_of(def: &LedgerDef, values: &Values) -> Option<String> {
    def.level_field()
        .and_then(|f| values.get(f))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A short, non-sensitive title: the first of the usual naming fields, else the first clear text field, else the
/// first enum's value.
pub(crate) fn title_of(def: &LedgerDef, values: &Values) -> String {
    let text = |id: &str| -> Option<String> {
        let f = def.form.field(id)?;
        if f.sensitive {
            return None;
        }
        let v = values.get(id)?;
        match v {
            Value::String(s) if !s.trim().is_empty() => match f.option(s) {
                Some(o) => Some(o.label.clone()),
                None => Some(s.clone()),
            },
            _ => None,
        }
    };
    let preferred = [
        "title",
        "place",
        "kindergarten_name",
        "allegation",
        "description",
        "issuer",
    ];
    let found = preferred
        .iter()
        .find_map(|id| text(id))
        .or_else(|| {
            def.form
                .fields
                .iter()
                .filter(|f| f.field_type == edu_form::FieldType::Text)
                .find_map(|f| text(&f.id))
        })
        .or_else(|| {
            def.form
                .fields
                .iter()
                .filter(|f| f.field_type == edu_form::FieldType::Enum)
                .find_map(|f| text(&f.id))
        })
        .unwrap_or_default();
    let mut short: String = found.chars().take(80).collect();
    if found.chars().count() > 80 {
        short.push('…');
    }
    short
}

fn split(def: &LedgerDef, values: &Values) -> (Map<String, Value>, Map<String, Value>) {
    let mut clear = Map::new();
    let mut secret = Map::new();
    for (k, v) in values {
        if is_sensitive(def, k) {
            secret.insert(k.clone(), v.clone());
        } else {
            clear.insert(k.clone(), v.clone());
        }
    }
    (clear, secret)
}

fn change_json(c: &FieldChange) -> Value {
    serde_json::json!({"field": c.field, "before": c.before, "after": c.after})
}

fn encrypt_json(
    keys: &KeyRing,
    value: &Value,
    table: &str,
    row_key: &str,
) -> Result<Vec<u8>, AppError> {
    Ok(keys.encrypt(&value.to_string(), table, SENSITIVE, row_key)?)
}

fn decrypt_json(
    keys: &KeyRing,
    bytes: &[u8],
    table: &str,
    row_key: &str,
) -> Result<Value, AppError> {
    let text = keys.decrypt(bytes, table, SENSITIVE, row_key)?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::Config(format!("stored ledger values do not parse: {e}")))
}

/// The escalation instants of an open case: when it reaches the district and the city (ms), from the engine's
/// rules — immediate rules from creation, otherwise N days after the current state's deadline.
fn escalation_instants(def: &LedgerDef, case: &Case, closed: bool) -> (Option<i64>, Option<i64>) {
    if closed {
        return (None, None);
    }
    let mut district: Option<i64> = None;
    let mut city: Option<i64> = None;
    let created = ms(case.created_at);
    for rule in &def.escalation.immediate {
        let hit = case
            .values
            .get(&rule.field)
            .is_some_and(|v| v.as_str() == Some(rule.equals.as_str()));
        if hit {
            if rule.level >= EscalationLevel::District {
                district = Some(created);
            }
            if rule.level >= EscalationLevel::City {
                city = Some(created);
            }
        }
    }
    if let Some(deadline) = state_deadline(def, case) {
        // The engine escalates when now (in whole seconds) is past deadline + N days.
        let after = |days: u32| (deadline.as_second() + i64::from(days) * 86_400 + 1) * 1000;
        let d = after(def.escalation.district_after_days);
        let c = after(def.escalation.city_after_days);
        district = Some(district.map_or(d, |x| x.min(d)));
        city = Some(city.map_or(c, |x| x.min(c)));
    }
    (district, city)
}

/// The stored form of `case` at `now`, with `new_entries` (indices into its history) to append.
pub(crate) fn case_write(
    keys: &KeyRing,
    def: &LedgerDef,
    case: &Case,
    case_key: &str,
    institution_id: i64,
    new_entries: std::ops::Range<usize>,
    now: Timestamp,
) -> Result<CaseWrite, AppError> {
    let status = case_status(def, case, now);
    let (clear, secret) = split(def, &case.values);
    let sensitive_enc = if secret.is_empty() {
        None
    } else {
        Some(encrypt_json(
            keys,
            &Value::Object(secret),
            CASE_TABLE,
            case_key,
        )?)
    };
    let assignees: Vec<String> = def
        .assignee_fields
        .iter()
        .filter_map(|f| case.values.get(f))
        .flat_map(|v| match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let (district_at, city_at) = escalation_instants(def, case, status.closed);
    let closed_at = if status.closed {
        case.history.last().map(|h| ms(h.at))
    } else {
        None
    };
    let mut history = Vec::new();
    for i in new_entries {
        let Some(entry) = case.history.get(i) else {
            continue;
        };
        // The case right after this entry (entries later at the same instant are folded in, which only matters
        // for instants in the middle of one request).
        let after = case.as_of(entry.at).unwrap_or_else(|| case.clone());
        let after_closed = def.state(&entry.to).is_some_and(|s| s.terminal);
        history.push(history_write(
            keys,
            def,
            entry,
            case_key,
            &after,
            after_closed,
        )?);
    }
    Ok(CaseWrite {
        ledger: def.id.clone(),
        case_key: case_key.to_owned(),
        institution_id,
        state: case.state.clone(),
        closed: status.closed,
        severity: def
            .severity_field
            .as_deref()
            .and_then(|f| case.values.get(f))
            .and_then(Value::as_str)
            .map(str::to_owned),
        level: level_of(def, &case.values),
        title: title_of(def, &case.values),
        values_json: Value::Object(clear).to_string(),
        sensitive_enc,
        assignees: if assignees.is_empty() {
            String::new()
        } else {
            format!(" {} ", assignees.join(" "))
        },
        created_at: ms(case.created_at),
        opened_on: edu_form::china_time::china_date(case.created_at).to_string(),
        state_entered_at: ms(case.state_entered_at),
        updated_at: ms(now),
        deadline_at: status.deadline.map(ms),
        district_at,
        city_at,
        closed_at,
        late: was_late(def, case, now),
        next_review: status.next_review.map(|d| d.to_string()),
        history,
    })
}

fn history_write(
    keys: &KeyRing,
    def: &LedgerDef,
    entry: &HistoryEntry,
    case_key: &str,
    after: &Case,
    closed: bool,
) -> Result<HistoryWrite, AppError> {
    let (secret, clear): (Vec<&FieldChange>, Vec<&FieldChange>) = entry
        .changes
        .iter()
        .partition(|c| is_sensitive(def, &c.field));
    let sensitive_enc = if secret.is_empty() {
        None
    } else {
        let value = Value::Array(secret.into_iter().map(change_json).collect());
        Some(encrypt_json(
            keys,
            &value,
            HISTORY_TABLE,
            &format!("{case_key}:{}", entry.seq),
        )?)
    };
    Ok(HistoryWrite {
        seq: i64::from(entry.seq),
        at_ms: ms(entry.at),
        actor: entry.actor.clone(),
        role: entry.role.as_str().to_owned(),
        action: entry.action.clone(),
        from_state: entry.from.clone(),
        to_state: entry.to.clone(),
        changes_json: Value::Array(clear.into_iter().map(change_json).collect()).to_string(),
        sensitive_enc,
        note: entry.note.clone(),
        closed,
        deadline_at: if closed {
            None
        } else {
            state_deadline(def, after).map(ms)
        },
        level: level_of(def, &after.values),
        late: was_late(def, after, entry.at),
    })
}

fn changes_from(value: Value) -> Vec<FieldChange> {
    let Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let field = item.get("field")?.as_str()?.to_owned();
            let pick = |k: &str| item.get(k).cloned().filter(|v| !v.is_null());
            Some(FieldChange {
                before: pick("before"),
                after: pick("after"),
                field,
            })
        })
        .collect()
}

/// Rebuilds the engine's case from its stored rows (decrypting the sensitive parts).
pub(crate) fn case_from(
    keys: &KeyRing,
    record: &CaseRecord,
    history: &[HistoryRecord],
) -> Result<Case, AppError> {
    let mut values = Values::new();
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&record.values_json) {
        values.extend(map);
    }
    if let Some(bytes) = &record.sensitive_enc
        && let Value::Object(map) = decrypt_json(keys, bytes, CASE_TABLE, &record.case_key)?
    {
        values.extend(map);
    }
    let mut entries = Vec::with_capacity(history.len());
    for h in history {
        let mut changes =
            changes_from(serde_json::from_str(&h.changes_json).unwrap_or(Value::Null));
        if let Some(bytes) = &h.sensitive_enc {
            changes.extend(changes_from(decrypt_json(
                keys,
                bytes,
                HISTORY_TABLE,
                &format!("{}:{}", record.case_key, h.seq),
            )?));
            changes.sort_by(|a, b| a.field.cmp(&b.field));
        }
        entries.push(HistoryEntry {
            seq: u32::try_from(h.seq).unwrap_or(u32::MAX),
            at: ts(h.at_ms),
            actor: h.actor.clone(),
            role: role_of(&h.role),
            action: h.action.clone(),
            from: h.from_state.clone(),
            to: h.to_state.clone(),
            changes,
            note: h.note.clone(),
        });
    }
    Ok(Case {
        id: record.id.to_string(),
        ledger: record.ledger.clone(),
        school: record.institution_code.clone(),
        state: record.state.clone(),
        values,
        created_at: ts(record.created_at),
        state_entered_at: ts(record.state_entered_at),
        history: entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use edu_ledger::{Actor, Relation, Step, apply_action, open_case};

    fn defs() -> std::collections::BTreeMap<String, LedgerDef> {
        edu_ledger::parse_ledger_defs(edu_ledger::DAQING_2021_DEFS).unwrap()
    }

    fn record_of(write: &CaseWrite, id: i64) -> (CaseRecord, Vec<HistoryRecord>) {
        let record = CaseRecord {
            id,
            ledger: write.ledger.clone(),
            case_key: write.case_key.clone(),
            institution_id: write.institution_id,
            institution_code: "2230200001".into(),
            institution_name: "x".into(),
            district_code: "230602".into(),
            state: write.state.clone(),
            closed: write.closed,
            severity: write.severity.clone(),
            level: write.level.clone(),
            title: write.title.clone(),
            values_json: write.values_json.clone(),
            sensitive_enc: write.sensitive_enc.clone(),
            assignees: write.assignees.clone(),
            created_at: write.created_at,
            opened_on: write.opened_on.clone(),
            state_entered_at: write.state_entered_at,
            updated_at: write.updated_at,
            deadline_at: write.deadline_at,
            district_at: write.district_at,
            city_at: write.city_at,
            closed_at: write.closed_at,
            late: write.late,
            next_review: write.next_review.clone(),
            version: write.history.last().map(|h| h.seq).unwrap_or(0),
        };
        let history = write
            .history
            .iter()
            .map(|h| HistoryRecord {
                case_id: id,
                seq: h.seq,
                at_ms: h.at_ms,
                actor: h.actor.clone(),
                role: h.role.clone(),
                action: h.action.clone(),
                from_state: h.from_state.clone(),
                to_state: h.to_state.clone(),
                changes_json: h.changes_json.clone(),
                sensitive_enc: h.sensitive_enc.clone(),
                note: h.note.clone(),
                closed: h.closed,
                deadline_at: h.deadline_at,
                level: h.level.clone(),
                late: h.late,
            })
            .collect();
        (record, history)
    }

    #[test]
    fn complaints_keep_identity_encrypted_and_round_trip() {
        let keys = KeyRing::for_tests(3);
        let defs = defs();
        let def = &defs["tutoring-complaints"];
        let clerk = Actor {
            person: "u:d230602".into(),
            role: LedgerRole::DistrictAdmin,
            relation: Relation::OwnDistrict,
        };
        let now: Timestamp = "2021-10-11T02:00:00Z".parse().unwrap();
        let case = open_case(
            def,
            "1",
            "2230200001",
            &clerk,
            &Step {
                action: "intake".into(),
                supplied: serde_json::json!({
                    "channel": "hotline", "teacher": "s:2230200001T0007", "allegation": "周末在家办班收费",
                    "complainant_name": "王秀英", "complainant_phone": "13845678901"
                }),
                note: None,
            },
            now,
        )
        .unwrap();
        let write = case_write(&keys, def, &case, "k1", 5, 0..1, now).unwrap();
        assert!(!write.values_json.contains("王秀英"));
        assert!(!write.values_json.contains("13845678901"));
        assert!(write.history[0].changes_json.contains("周末在家办班收费"));
        assert!(!write.history[0].changes_json.contains("13845678901"));
        assert!(write.sensitive_enc.is_some() && write.history[0].sensitive_enc.is_some());
        assert_eq!(write.title, "周末在家办班收费");
        // 3-day intake deadline: due 13 Oct 23:59:59 China time.
        assert_eq!(
            write.deadline_at,
            Some(ms("2021-10-13T15:59:59Z".parse().unwrap()))
        );
        let (record, history) = record_of(&write, 9);
        let back = case_from(&keys, &record, &history).unwrap();
        assert_eq!(back.values, case.values);
        assert_eq!(back.history.len(), 1);
        assert_eq!(back.history[0].changes.len(), case.history[0].changes.len());
        // Another row key (a copied ciphertext) does not decrypt.
        let mut moved = record.clone();
        moved.case_key = "k2".into();
        assert!(case_from(&keys, &moved, &history).is_err());
    }

    #[test]
    fn major_hazards_reach_the_district_from_their_report_and_deadlines_follow_the_engine() {
        let keys = KeyRing::for_tests(3);
        let defs = defs();
        let def = &defs["hazards"];
        let officer = Actor {
            person: "u:s2230200001".into(),
            role: LedgerRole::SchoolAdmin,
            relation: Relation::OwnSchool,
        };
        let t0: Timestamp = "2021-03-01T02:00:00Z".parse().unwrap();
        let report = |severity: &str| Step {
            action: "report".into(),
            supplied: serde_json::json!({"title": "配电箱破损", "severity": severity, "location": "教学楼一层", "description": "箱门脱落"}),
            note: None,
        };
        let major = open_case(def, "1", "s", &officer, &report("major"), t0).unwrap();
        let w = case_write(&keys, def, &major, "k", 1, 0..1, t0).unwrap();
        assert_eq!(w.district_at, Some(ms(t0)));
        assert_eq!(w.level.as_deref(), Some("major"));
        let general = open_case(def, "2", "s", &officer, &report("general"), t0).unwrap();
        let assigned = apply_action(
            def,
            &general,
            &officer,
            &Step {
                action: "assign".into(),
                supplied: serde_json::json!({"responsible_person": "u:t2230200001"}),
                note: None,
            },
            t0,
        )
        .unwrap();
        let w = case_write(&keys, def, &assigned, "k2", 1, 0..2, t0).unwrap();
        // 7 days from the report on 1 March: due 7 March 23:59:59 China time; district one day later.
        let due: Timestamp = "2021-03-07T15:59:59Z".parse().unwrap();
        assert_eq!(w.deadline_at, Some(ms(due)));
        assert_eq!(w.district_at, Some(ms(due) + 86_400_000 + 1000));
        assert_eq!(w.history.len(), 2);
        assert_eq!(w.history[1].deadline_at, Some(ms(due)));
        assert!(!w.history[1].closed);
        assert!(w.assignees.contains(" u:t2230200001 "));
        // The engine agrees: at the district instant the case has reached the district, a second before not.
        let at = |ms: i64| case_status(def, &assigned, ts(ms)).escalation;
        assert_eq!(at(w.district_at.unwrap()), Some(EscalationLevel::District));
        assert_eq!(
            at(w.district_at.unwrap() - 1000),
            Some(EscalationLevel::School)
        );
    }
}

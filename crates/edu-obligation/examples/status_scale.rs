//! Times `reporting_status` for a city-sized input (not a test): `cargo run --release -p edu-obligation --example status_scale`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use edu_form::org::{OrgLevel, OrgTree, OrgUnit};
use edu_obligation::*;
use jiff::Timestamp;
use jiff::civil::Date;

fn main() {
    let def = parse_obligation_defs(DAQING_2021_DEFS)
        .unwrap()
        .remove("health-daily")
        .unwrap();
    let cal = SchoolCalendar {
        terms: vec![Term {
            id: "t".into(),
            name: String::new(),
            start: Date::constant(2021, 3, 1),
            end: Date::constant(2021, 7, 9),
        }],
        school_weekdays: vec![1, 2, 3, 4, 5],
        holidays: vec![],
        extra_school_days: vec![],
    };
    let schools_per_district = 250;
    let mut units = vec![OrgUnit {
        id: "230600".into(),
        parent: None,
        level: OrgLevel::City,
        name: String::new(),
    }];
    let mut institutions = Vec::new();
    for d in 0..9 {
        let did = format!("d{d}");
        units.push(OrgUnit {
            id: did.clone(),
            parent: Some("230600".into()),
            level: OrgLevel::District,
            name: String::new(),
        });
        for s in 0..schools_per_district {
            let id = format!("{did}-s{s}");
            units.push(OrgUnit {
                id: id.clone(),
                parent: Some(did.clone()),
                level: OrgLevel::Institution,
                name: String::new(),
            });
            institutions.push(Institution {
                id,
                name: String::new(),
                kind: InstitutionKind::Primary,
                ownership: Ownership::Public,
                area: Area::Urban,
                authority: Authority::District,
                tags: vec![],
                active_from: None,
                active_until: None,
            });
        }
    }
    let tree = OrgTree::new(units).unwrap();
    let days = def.periods_starting_between(
        &cal,
        Date::constant(2021, 3, 1),
        Date::constant(2021, 3, 26),
    );
    let mut returns = Vec::new();
    for (n, p) in days.iter().enumerate() {
        for (i, inst) in institutions.iter().enumerate() {
            if (i + n) % 17 == 0 {
                continue;
            }
            returns.push(ReturnSummary {
                institution: inst.id.clone(),
                period: p.key.clone(),
                kind: if i % 3 == 0 {
                    ReportKind::Zero
                } else {
                    ReportKind::Report
                },
                timeliness: if i % 11 == 0 {
                    Timeliness::Late
                } else {
                    Timeliness::OnTime
                },
                first_submitted_at: def.window(p).opens,
            });
        }
    }
    let data = ReportingData {
        calendar: &cal,
        tree: &tree,
        institutions: &institutions,
        returns: &returns,
    };
    let now: Timestamp = "2021-03-26T04:00:00Z".parse().unwrap();
    for (label, from) in [
        ("today only", Date::constant(2021, 3, 26)),
        ("20 school days", Date::constant(2021, 3, 1)),
    ] {
        let start = std::time::Instant::now();
        let runs = 5;
        let mut missing = 0;
        for _ in 0..runs {
            missing = reporting_status(&def, &data, from, Date::constant(2021, 3, 26), now)
                .missing
                .len();
        }
        let per_run = start.elapsed().as_secs_f64() * 1000.0 / runs as f64;
        println!(
            "{label}: {} institutions, {} returns stored, {missing} missing: {per_run:.1} ms per status",
            institutions.len(),
            returns.len()
        );
    }
}

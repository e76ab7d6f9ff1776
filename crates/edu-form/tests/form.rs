//! Form validation as a user meets it: a submitted object in, normalised values or named errors out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use edu_form::{
    Decimal, ErrorCode, FormDef, ValidationContext, Values, parse_form_toml, validate,
    validate_patch, visible_values,
};
use jiff::civil::Date;
use proptest::prelude::*;
use serde_json::{Value, json};

const FORM: &str = r#"
[[fields]]
id = "absent_total"
label = "缺勤总人数"
label_en = "Absent in total"
type = "integer"
unit = "人"
required = true

[[fields]]
id = "absent_ill"
label = "因病缺勤人数"
label_en = "Absent through illness"
type = "integer"
required = true

[[fields]]
id = "fee"
label = "收费"
type = "decimal"
scale = 2
max = 10000

[[fields]]
id = "note"
label = "备注"
type = "text"
max_len = 5

[[fields]]
id = "phone"
label = "联系电话"
type = "text"
sensitive = true
visible_to = ["investigator"]

[[fields]]
id = "symptoms"
label = "症状"
type = "enum"
multiple = true
options = [
  { value = "fever", label = "发热" },
  { value = "cough", label = "咳嗽" },
]

[[fields]]
id = "cases"
label = "病例"
type = "list"
max_rows = 3

[[fields.columns]]
id = "person_kind"
label = "人员类别"
type = "enum"
required = true
options = [ { value = "pupil", label = "学生" }, { value = "staff", label = "教职员工" } ]

[[fields.columns]]
id = "onset_date"
label = "发病日期"
type = "date"
required = true
not_future = true

[[fields.columns]]
id = "days"
label = "天数"
type = "integer"

[[fields]]
id = "total_cost"
label = "合计"
type = "decimal"
computed = true

[[rules]]
check = "absent_ill <= absent_total"
message = "因病缺勤人数不能超过缺勤总人数"
message_en = "Absent through illness cannot exceed absent in total"

[[rules]]
check = "count(cases) <= absent_ill"
field = "cases"
message = "病例数不能超过因病缺勤人数"
"#;

fn form() -> FormDef {
    parse_form_toml(FORM).expect("test form parses")
}

fn ctx() -> ValidationContext {
    ValidationContext {
        reference_date: Some(Date::constant(2021, 3, 5)),
    }
}

/// Each bad input must be refused with exactly this field path and code among the errors.
#[test]
fn refusals_name_the_field_and_reason() {
    let cases: Vec<(Value, &str, ErrorCode)> = vec![
        (json!([1, 2]), "", ErrorCode::NotAnObject),
        (
            json!({"absent_total": 3}),
            "absent_ill",
            ErrorCode::Required,
        ),
        (
            json!({"absent_total": -1, "absent_ill": 0}),
            "absent_total",
            ErrorCode::BelowMinimum,
        ),
        (
            json!({"absent_total": "-4", "absent_ill": 0}),
            "absent_total",
            ErrorCode::BelowMinimum,
        ),
        (
            json!({"absent_total": 2.5, "absent_ill": 0}),
            "absent_total",
            ErrorCode::NotAWholeNumber,
        ),
        (
            json!({"absent_total": "abc", "absent_ill": 0}),
            "absent_total",
            ErrorCode::WrongType,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "bogus": 1}),
            "bogus",
            ErrorCode::UnknownField,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 4}),
            "absent_ill",
            ErrorCode::RuleFailed,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "fee": "1.234"}),
            "fee",
            ErrorCode::TooManyDecimals,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "fee": 20000}),
            "fee",
            ErrorCode::AboveMaximum,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "note": "一二三四五六"}),
            "note",
            ErrorCode::TooLong,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "note": "a\u{0007}"}),
            "note",
            ErrorCode::ForbiddenCharacter,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "symptoms": ["rash"]}),
            "symptoms[0]",
            ErrorCode::NotAnOption,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "symptoms": ["fever", "fever"]}),
            "symptoms",
            ErrorCode::RepeatedValue,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 3, "cases": [{"person_kind": "pupil", "onset_date": "2021-03-04"}, {"person_kind": "pupil", "onset_date": "2021-03-09"}]}),
            "cases[1].onset_date",
            ErrorCode::DateInFuture,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 3, "cases": [{"person_kind": "pupil", "onset_date": "2021-03-04"}, {"person_kind": "pupil", "onset_date": "2021/03/04"}, {"person_kind": "teacher", "onset_date": "2021-03-04"}]}),
            "cases[2].person_kind",
            ErrorCode::NotAnOption,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 3, "cases": [{"person_kind": "pupil", "onset_date": "2021/03/04"}]}),
            "cases[0].onset_date",
            ErrorCode::WrongType,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 3, "cases": [{"onset_date": "2021-03-04"}]}),
            "cases[0].person_kind",
            ErrorCode::Required,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 3, "cases": [{"person_kind": "pupil", "onset_date": "2021-03-04", "x": 1}]}),
            "cases[0].x",
            ErrorCode::UnknownField,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 3, "cases": [1]}),
            "cases[0]",
            ErrorCode::NotAnObject,
        ),
        (
            json!({"absent_total": 5, "absent_ill": 5, "cases": [{"person_kind": "pupil", "onset_date": "2021-03-04"}, {"person_kind": "pupil", "onset_date": "2021-03-04"}, {"person_kind": "pupil", "onset_date": "2021-03-04"}, {"person_kind": "pupil", "onset_date": "2021-03-04"}]}),
            "cases",
            ErrorCode::TooManyRows,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 1, "cases": [{"person_kind": "pupil", "onset_date": "2021-03-04"}, {"person_kind": "staff", "onset_date": "2021-03-04"}]}),
            "cases",
            ErrorCode::RuleFailed,
        ),
        (
            json!({"absent_total": 3, "absent_ill": 0, "total_cost": 5}),
            "total_cost",
            ErrorCode::NotAllowed,
        ),
    ];
    let form = form();
    for (input, field, code) in cases {
        let errors =
            validate(&form, &input, &ctx()).expect_err(&format!("{input} should be refused"));
        assert!(
            errors.codes_for(field).contains(&code),
            "{input}: expected {code:?} on {field:?}, got {errors:?}"
        );
        for e in &errors.0 {
            assert!(
                !e.message.is_empty() && !e.message_en.is_empty(),
                "messages in both languages: {e:?}"
            );
        }
    }
}

#[test]
fn accepted_values_are_normalised() {
    let input = json!({
        "absent_total": "3",
        "absent_ill": 2,
        "fee": 600,
        "note": "  𠀀𠀁𠀂𠀃𠀄 ",
        "symptoms": ["cough", "fever"],
        "cases": [{"person_kind": "staff", "onset_date": "2021-03-05", "days": "2"}],
    });
    let values = validate(&form(), &input, &ctx()).expect("valid");
    assert_eq!(values["absent_total"], json!(3));
    assert_eq!(values["fee"], json!("600.00"));
    // Five CJK Extension B characters: five characters, within max_len 5, though 20 bytes in UTF-8.
    assert_eq!(values["note"], json!("𠀀𠀁𠀂𠀃𠀄"));
    assert_eq!(
        values["symptoms"],
        json!(["fever", "cough"]),
        "enum choices in option order"
    );
    assert_eq!(values["cases"][0]["days"], json!(2));
    assert!(
        !values.contains_key("phone"),
        "absent optional fields are left out"
    );
}

#[test]
fn patch_validation_merges_and_rechecks_rules() {
    let form = form();
    let base: Values =
        validate(&form, &json!({"absent_total": 3, "absent_ill": 1}), &ctx()).unwrap();
    let merged = validate_patch(
        &form,
        &base,
        &json!({"absent_ill": 2, "note": null}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(merged["absent_ill"], json!(2));
    let err = validate_patch(&form, &base, &json!({"absent_ill": 9}), &ctx()).unwrap_err();
    assert!(err.names("absent_ill"));
    let err = validate_patch(&form, &base, &json!({"nope": 1}), &ctx()).unwrap_err();
    assert_eq!(err.codes_for("nope"), vec![ErrorCode::UnknownField]);
}

#[test]
fn visibility_hides_restricted_fields() {
    let form = form();
    let values = validate(
        &form,
        &json!({"absent_total": 1, "absent_ill": 0, "phone": "13800000000"}),
        &ctx(),
    )
    .unwrap();
    assert!(!visible_values(&form, &values, &["school_admin"]).contains_key("phone"));
    assert!(visible_values(&form, &values, &["investigator"]).contains_key("phone"));
    assert_eq!(form.sensitive_fields(), vec!["phone".to_string()]);
}

#[test]
fn bad_definitions_are_reported() {
    let bad = r#"
[[fields]]
id = "A"
label = "甲"
type = "integer"

[[fields]]
id = "b"
label = "乙"
type = "enum"

[[fields]]
id = "c"
label = "丙"
type = "text"
min = 1

[[rules]]
check = "a <= zz"
message = "x"
"#;
    let problems = parse_form_toml(bad).unwrap_err();
    let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
    assert!(at.contains(&"A"), "{problems:?}");
    assert!(at.contains(&"b"), "{problems:?}");
    assert!(at.contains(&"c"), "{problems:?}");
    assert!(at.contains(&"rules[0]"), "{problems:?}");
}

proptest! {
    /// Any integer is accepted exactly when it is non-negative, and round-trips unchanged.
    #[test]
    fn counts_accept_exactly_the_non_negative(n in any::<i64>()) {
        let result = validate(&form(), &json!({"absent_total": n, "absent_ill": 0}), &ctx());
        if n >= 0 {
            prop_assert_eq!(result.unwrap()["absent_total"].as_i64(), Some(n));
        } else {
            prop_assert!(result.unwrap_err().codes_for("absent_total").contains(&ErrorCode::BelowMinimum));
        }
    }

    /// The rule `absent_ill <= absent_total` decides acceptance exactly.
    #[test]
    fn cross_rule_matches_oracle(total in 0i64..1000, ill in 0i64..1000) {
        let result = validate(&form(), &json!({"absent_total": total, "absent_ill": ill}), &ctx());
        prop_assert_eq!(result.is_ok(), ill <= total);
    }

    /// Text length is counted in characters, whatever their UTF-8 width.
    #[test]
    fn text_length_counts_characters(s in "[a-z\u{4e00}-\u{4e10}\u{20000}-\u{20010}]{0,8}") {
        let result = validate(&form(), &json!({"absent_total": 0, "absent_ill": 0, "note": s.clone()}), &ctx());
        prop_assert_eq!(result.is_ok(), s.chars().count() <= 5);
    }

    /// Decimals keep their exact value.
    #[test]
    fn decimals_are_exact(units in 0i64..1_000_000) {
        let text = format!("{}.{:02}", units / 100, units % 100);
        let values = validate(&form(), &json!({"absent_total": 0, "absent_ill": 0, "fee": text.clone()}), &ctx());
        let within = units <= 1_000_000;
        prop_assert_eq!(values.is_ok(), within);
        if let Ok(v) = values {
            prop_assert_eq!(Decimal::parse(v["fee"].as_str().unwrap()), Decimal::parse(&text));
        }
    }
}

//! Parsing of cell values shared by the importers and forms; errors are bilingual reasons.

use jiff::civil::Date;

/// Dates as YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD or 2021年3月1日.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    let normalised: String = t
        .replace(['年', '月'], "-")
        .replace('日', "")
        .chars()
        .map(|c| if c == '/' || c == '.' { '-' } else { c })
        .collect();
    let parts: Vec<&str> = normalised.split('-').filter(|p| !p.is_empty()).collect();
    let parsed = match parts.as_slice() {
        [y, m, d] => match (y.parse::<i16>(), m.parse::<i8>(), d.parse::<i8>()) {
            (Ok(y), Ok(m), Ok(d)) => Date::new(y, m, d).ok(),
            _ => None,
        },
        [compact] if compact.len() == 8 && compact.bytes().all(|b| b.is_ascii_digit()) => {
            match (
                compact[..4].parse::<i16>(),
                compact[4..6].parse::<i8>(),
                compact[6..].parse::<i8>(),
            ) {
                (Ok(y), Ok(m), Ok(d)) => Date::new(y, m, d).ok(),
                _ => None,
            }
        }
        _ => None,
    };
    match parsed {
        Some(date) if (1900..=2100).contains(&date.year()) => Ok(date),
        _ => Err(format!(
            "日期“{t}”无效，应为 YYYY-MM-DD / invalid date “{t}”, expected YYYY-MM-DD"
        )),
    }
}

pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim() {
        "" | "否" | "0" | "N" | "n" | "no" | "No" | "NO" | "false" | "FALSE" | "False" => {
            Ok(false)
        }
        "是" | "1" | "Y" | "y" | "yes" | "Yes" | "YES" | "true" | "TRUE" | "True" => Ok(true),
        other => Err(format!("“{other}”应为 是/否 / “{other}” should be yes/no")),
    }
}

pub fn parse_int(text: &str, min: i64, max: i64) -> Result<i64, String> {
    let t = text.trim();
    match t.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "{v} 超出范围 {min}–{max} / {v} is outside {min}–{max}"
        )),
        Err(_) => Err(format!("“{t}”不是整数 / “{t}” is not a whole number")),
    }
}

/// Grades 1–12, or the Chinese forms: 小班/中班/大班 (kindergarten 1–3), 一年级…六年级, 初一…初三 / 七年级…九年级,
/// 高一…高三 / 十年级…十二年级.
pub fn parse_grade(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return if (1..=12).contains(&n) {
            Ok(n)
        } else {
            Err(format!("年级 {n} 超出 1–12 / grade {n} outside 1–12"))
        };
    }
    const NUMERALS: [&str; 12] = [
        "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
    ];
    let numeral = |s: &str| NUMERALS.iter().position(|n| *n == s).map(|i| i as i64 + 1);
    let found = match t {
        "小班" => Some(1),
        "中班" => Some(2),
        "大班" => Some(3),
        _ => {
            if let Some(rest) = t.strip_suffix("年级") {
                numeral(rest).or_else(|| rest.parse().ok())
            } else if let Some(rest) = t.strip_prefix('初') {
                numeral(rest).filter(|n| *n <= 3).map(|n| n + 6)
            } else if let Some(rest) = t.strip_prefix('高') {
                numeral(rest).filter(|n| *n <= 3).map(|n| n + 9)
            } else {
                None
            }
        }
    };
    found
        .filter(|n| (1..=12).contains(n))
        .ok_or_else(|| format!("无法识别的年级“{t}” / unrecognised grade “{t}”"))
}

/// A mainland mobile number: 11 digits starting with 1.
pub fn parse_mobile(text: &str) -> Result<String, String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(
            "手机号应为 1 开头的 11 位数字 / a mobile number has 11 digits starting with 1"
                .to_owned(),
        )
    }
}

pub fn parse_institution_status(text: &str) -> Result<&'static str, String> {
    match text.trim() {
        "" | "开办" | "open" | "正常" => Ok("open"),
        "停办" | "closed" | "撤销" => Ok("closed"),
        other => Err(format!(
            "状态“{other}”应为 开办/停办 / status should be open or closed"
        )),
    }
}

pub fn parse_staff_status(text: &str) -> Result<&'static str, String> {
    match text.trim() {
        "" | "在岗" | "active" => Ok("active"),
        "退休" | "retired" => Ok("retired"),
        "离职" | "调离" | "left" => Ok("left"),
        other => Err(format!(
            "在岗状态“{other}”应为 在岗/退休/离职 / should be active, retired or left"
        )),
    }
}

pub fn parse_basis(text: &str) -> Result<&'static str, String> {
    match text.trim() {
        "户籍" | "registered" => Ok("registered"),
        "常住" | "resident" => Ok("resident"),
        other => Err(format!(
            "口径“{other}”应为 户籍/常住 / basis should be registered or resident"
        )),
    }
}

/// Text length counted in characters (GB 18030 supplementary characters count as one).
pub fn check_length(text: &str, max: usize) -> Result<(), String> {
    let n = text.chars().count();
    if n > max {
        Err(format!(
            "长度 {n} 超过 {max} 个字符 / {n} characters, at most {max}"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn dates_in_common_forms() {
        for text in [
            "2021-03-01",
            "2021/3/1",
            "2021.03.01",
            "20210301",
            "2021年3月1日",
        ] {
            assert_eq!(parse_date(text), Ok(date(2021, 3, 1)), "{text}");
        }
        for bad in ["2021-02-30", "01/03/2021", "yesterday", "1800-01-01"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grades_in_chinese() {
        let cases = [
            ("小班", 1),
            ("大班", 3),
            ("一年级", 1),
            ("六年级", 6),
            ("初一", 7),
            ("九年级", 9),
            ("高三", 12),
            ("十二年级", 12),
            ("10", 10),
        ];
        for (text, grade) in cases {
            assert_eq!(parse_grade(text), Ok(grade), "{text}");
        }
        assert!(parse_grade("初四").is_err());
        assert!(parse_grade("13").is_err());
    }

    #[test]
    fn mobiles() {
        assert_eq!(parse_mobile("138-0000-0000").unwrap(), "13800000000");
        assert!(parse_mobile("0459-4600001").is_err());
    }

    proptest! {
        #[test]
        fn every_valid_date_round_trips(y in 1950i16..2050, m in 1i8..=12, d in 1i8..=28) {
            let day = date(y, m, d);
            prop_assert_eq!(parse_date(&day.to_string()), Ok(day));
            prop_assert_eq!(parse_date(&day.strftime("%Y%m%d").to_string()), Ok(day));
        }

        /// Names with supplementary-plane characters count one per character (INP-01).
        #[test]
        fn lengths_count_characters(n in 0usize..40) {
            let name: String = std::iter::repeat_n('𠀀', n).collect();
            prop_assert_eq!(check_length(&name, 20).is_ok(), n <= 20);
        }
    }
}

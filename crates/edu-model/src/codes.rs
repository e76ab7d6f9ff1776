//! National codes: 身份证号 (GB 11643), 全国学籍号 (G/J/L forms) and 学校标识码.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::area::is_province_code;

/// Why a code was refused. Messages are bilingual because they reach users through import reports and forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{0}")]
    Format(&'static str),
    #[error("省级行政区划代码无效 / invalid province code")]
    Province,
    #[error("出生日期无效 / invalid birth date")]
    BirthDate,
    #[error("校验码错误：应为 {expected} / wrong check digit: expected {expected}")]
    CheckDigit { expected: char },
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits.
pub fn id_check_digit(first17: &[u8; 17]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    ID_CHECK_CHARS[(sum % 11) as usize]
}

/// Parses the 18-character body shared by 身份证号 and G/J 学籍号: area, birth date, sequence, check digit.
fn parse_id_body(text: &str) -> Result<(String, Date), CodeError> {
    let upper = text.trim().to_ascii_uppercase();
    let bytes = upper.as_bytes();
    if bytes.len() != 18 {
        return Err(CodeError::Format(
            "身份证号应为 18 位 / ID number must have 18 characters",
        ));
    }
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(&bytes[..17]);
    if !first17.iter().all(u8::is_ascii_digit) {
        return Err(CodeError::Format(
            "前 17 位应为数字 / the first 17 characters must be digits",
        ));
    }
    let last = bytes[17];
    if !(last.is_ascii_digit() || last == b'X') {
        return Err(CodeError::Format(
            "末位应为数字或 X / the last character must be a digit or X",
        ));
    }
    let province = u32::from(first17[0] - b'0') * 10 + u32::from(first17[1] - b'0');
    if !is_province_code(province) {
        return Err(CodeError::Province);
    }
    let year: i16 = upper[6..10].parse().map_err(|_| CodeError::BirthDate)?;
    let month: i8 = upper[10..12].parse().map_err(|_| CodeError::BirthDate)?;
    let day: i8 = upper[12..14].parse().map_err(|_| CodeError::BirthDate)?;
    if !(1900..=2100).contains(&year) {
        return Err(CodeError::BirthDate);
    }
    let birth = Date::new(year, month, day).map_err(|_| CodeError::BirthDate)?;
    let expected = id_check_digit(&first17);
    if char::from(last) != expected {
        return Err(CodeError::CheckDigit { expected });
    }
    Ok((upper, birth))
}

/// A resident identity card number (居民身份证号码, GB 11643-1999): 18 characters, check digit verified.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdNumber {
    text: String,
    birth_date: Date,
}

impl IdNumber {
    pub fn parse(text: &str) -> Result<IdNumber, CodeError> {
        let (text, birth_date) = parse_id_body(text)?;
        Ok(IdNumber { text, birth_date })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// The sex encoded in the 17th digit: odd for male, even for female.
    pub fn sex(&self) -> crate::Sex {
        let digit = self.text.as_bytes()[16] - b'0';
        if !digit.is_multiple_of(2) {
            crate::Sex::Male
        } else {
            crate::Sex::Female
        }
    }

    /// Masked for display: area prefix and last four characters only, e.g. `2306**********123X`.
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(&self.text, 4, 4)
    }
}

/// Never print a full ID number by accident.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// The three forms of the national pupil number (全国中小学生学籍号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PupilNoForm {
    /// `G` + the pupil's 18-character ID number.
    G,
    /// `J` + a generated ID-shaped code (area, birth date, sequence, GB 11643 check digit) for pupils without an ID.
    J,
    /// `L` + 18 characters: a temporary number, digits with a final digit or X; no check digit is required.
    L,
}

/// A 全国学籍号, validated. The G form contains the pupil's ID number: treat it as sensitive.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PupilNo {
    text: String,
}

impl PupilNo {
    pub fn parse(text: &str) -> Result<PupilNo, CodeError> {
        let text = text.trim();
        let mut chars = text.chars();
        let form = match chars.next().map(|c| c.to_ascii_uppercase()) {
            Some('G') => PupilNoForm::G,
            Some('J') => PupilNoForm::J,
            Some('L') => PupilNoForm::L,
            _ => {
                return Err(CodeError::Format(
                    "学籍号应以 G、J 或 L 开头 / pupil number must start with G, J or L",
                ));
            }
        };
        let body = chars.as_str();
        let body = match form {
            PupilNoForm::G | PupilNoForm::J => parse_id_body(body)?.0,
            PupilNoForm::L => {
                let upper = body.to_ascii_uppercase();
                let bytes = upper.as_bytes();
                let shape_ok = bytes.len() == 18
                    && bytes[..17].iter().all(u8::is_ascii_digit)
                    && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
                if !shape_ok {
                    return Err(CodeError::Format(
                        "临时学籍号应为 L + 18 位 / temporary number must be L + 18 characters",
                    ));
                }
                upper
            }
        };
        let prefix = match form {
            PupilNoForm::G => 'G',
            PupilNoForm::J => 'J',
            PupilNoForm::L => 'L',
        };
        Ok(PupilNo {
            text: format!("{prefix}{body}"),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn form(&self) -> PupilNoForm {
        match self.text.as_bytes()[0] {
            b'G' => PupilNoForm::G,
            b'J' => PupilNoForm::J,
            _ => PupilNoForm::L,
        }
    }

    /// The birth date carried by G and J numbers.
    pub fn birth_date(&self) -> Option<Date> {
        match self.form() {
            PupilNoForm::G | PupilNoForm::J => parse_id_body(&self.text[1..]).ok().map(|(_, d)| d),
            PupilNoForm::L => None,
        }
    }

    /// Masked for display, e.g. `G2306**********123X`: the form letter, area prefix and last four characters.
    pub fn masked(&self) -> String {
        crate::mask::mask_middle(&self.text, 5, 4)
    }
}

impl fmt::Debug for PupilNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PupilNo({})", self.masked())
    }
}

/// A 10-digit 学校标识码: school type digit, province (23 = Heilongjiang), then a sequence. Never reused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SchoolCode(String);

impl SchoolCode {
    pub fn parse(text: &str) -> Result<SchoolCode, CodeError> {
        let text = text.trim();
        let bytes = text.as_bytes();
        if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::Format(
                "学校标识码应为 10 位数字 / school code must be 10 digits",
            ));
        }
        if bytes[0] == b'0' {
            return Err(CodeError::Format(
                "学校标识码首位（类别）不能为 0 / the first (type) digit cannot be 0",
            ));
        }
        let province = u32::from(bytes[1] - b'0') * 10 + u32::from(bytes[2] - b'0');
        if !is_province_code(province) {
            return Err(CodeError::Province);
        }
        Ok(SchoolCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn province(&self) -> u32 {
        let b = self.0.as_bytes();
        u32::from(b[1] - b'0') * 10 + u32::from(b[2] - b'0')
    }
}

impl fmt::Display for SchoolCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SchoolCode {
    type Error = CodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        SchoolCode::parse(&value)
    }
}

impl From<SchoolCode> for String {
    fn from(value: SchoolCode) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Builds a valid ID number from its parts (test helper, mirrors the standard).
    fn make_id(area: &str, birth: &str, seq: &str) -> String {
        let first: String = format!("{area}{birth}{seq}");
        let mut digits = [0u8; 17];
        digits.copy_from_slice(first.as_bytes());
        format!("{first}{}", id_check_digit(&digits))
    }

    #[test]
    fn known_id_numbers() {
        // The example number of GB 11643-1999, appendix: 11010519491231002X.
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), jiff::civil::date(1949, 12, 31));
        assert_eq!(id.sex(), crate::Sex::Female);
        assert_eq!(id.masked(), "1101**********002X");
        // Lowercase x is accepted and normalised.
        assert_eq!(
            IdNumber::parse("11010519491231002x").unwrap().as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(CodeError::CheckDigit { expected: 'X' })
        );
    }

    #[test]
    fn id_numbers_with_impossible_dates_or_areas_are_refused() {
        let bad_date = make_id("230602", "20150230", "123");
        assert_eq!(IdNumber::parse(&bad_date), Err(CodeError::BirthDate));
        let bad_area = make_id("990602", "20150228", "123");
        assert_eq!(IdNumber::parse(&bad_area), Err(CodeError::Province));
        assert!(IdNumber::parse("2306022015022812").is_err());
    }

    #[test]
    fn pupil_number_forms() {
        let id = make_id("230602", "20150301", "214");
        let g = PupilNo::parse(&format!("G{id}")).unwrap();
        assert_eq!(g.form(), PupilNoForm::G);
        assert_eq!(g.birth_date(), Some(jiff::civil::date(2015, 3, 1)));
        assert!(g.masked().starts_with("G2306"));
        assert!(!g.masked().contains("20150301"));
        let j = PupilNo::parse(&format!("j{id}")).unwrap();
        assert_eq!(j.form(), PupilNoForm::J);
        assert_eq!(j.as_str().chars().next(), Some('J'));
        let l = PupilNo::parse("L23060220150301999X").unwrap();
        assert_eq!(l.form(), PupilNoForm::L);
        assert_eq!(l.birth_date(), None);
        assert!(PupilNo::parse(&format!("X{id}")).is_err());
        assert!(PupilNo::parse("G").is_err());
        // A G number with a wrong check digit names the expected digit.
        let mut wrong = format!("G{id}");
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        assert!(matches!(
            PupilNo::parse(&wrong),
            Err(CodeError::CheckDigit { .. })
        ));
    }

    #[test]
    fn school_codes() {
        assert_eq!(SchoolCode::parse("2230600001").unwrap().province(), 23);
        for bad in [
            "123060001",
            "21230600011",
            "0123060001",
            "2993060001",
            "21230600a1",
        ] {
            assert!(SchoolCode::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Every 17-digit body with a valid area and date plus its computed check digit parses;
        /// every other final character is refused.
        #[test]
        fn check_digit_is_exactly_enforced(
            seq in 0u32..1000,
            day in 1i8..=28,
            month in 1i8..=12,
            year in 1950i16..=2024,
            other in prop::sample::select(vec!['0','1','2','3','4','5','6','7','8','9','X']),
        ) {
            let birth = format!("{year:04}{month:02}{day:02}");
            let valid = make_id("230603", &birth, &format!("{seq:03}"));
            let parsed = IdNumber::parse(&valid).unwrap();
            prop_assert_eq!(parsed.birth_date(), jiff::civil::Date::new(year, month, day).unwrap());
            let mut altered = valid[..17].to_string();
            altered.push(other);
            prop_assert_eq!(IdNumber::parse(&altered).is_ok(), altered == valid);
        }

        /// Arbitrary strings never panic the parsers.
        #[test]
        fn parsers_never_panic(text in "\\PC{0,24}") {
            let _ = IdNumber::parse(&text);
            let _ = PupilNo::parse(&text);
            let _ = SchoolCode::parse(&text);
        }
    }
}

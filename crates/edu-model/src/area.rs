//! Administrative area codes (GB/T 2260) and Daqing's county-level units.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::CodeError;

/// A six-digit GB/T 2260 administrative division code, e.g. `230602`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(u32);

impl AreaCode {
    /// Parses a six-digit code whose first two digits are a valid province-level code.
    pub fn parse(text: &str) -> Result<AreaCode, CodeError> {
        let text = text.trim();
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::Format(
                "行政区划代码应为 6 位数字 / area code must be 6 digits",
            ));
        }
        let value: u32 = text.parse().map_err(|_| CodeError::Format("area code"))?;
        if !is_province_code(value / 10_000) {
            return Err(CodeError::Province);
        }
        Ok(AreaCode(value))
    }

    pub const fn from_u32_unchecked(value: u32) -> AreaCode {
        AreaCode(value)
    }

    pub fn value(self) -> u32 {
        self.0
    }

    /// The province-level prefix, e.g. 23 for Heilongjiang.
    pub fn province(self) -> u32 {
        self.0 / 10_000
    }

    /// True for a prefecture-level (city) code such as 230600.
    pub fn is_city(self) -> bool {
        self.0.is_multiple_of(100) && !self.0.is_multiple_of(10_000)
    }

    /// The prefecture-level city this code belongs to.
    pub fn city(self) -> AreaCode {
        AreaCode(self.0 / 100 * 100)
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl TryFrom<String> for AreaCode {
    type Error = CodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        AreaCode::parse(&value)
    }
}

impl From<AreaCode> for String {
    fn from(value: AreaCode) -> String {
        value.to_string()
    }
}

/// Province-level codes of GB/T 2260 (mainland provinces, autonomous regions and municipalities; 71/81/82 too).
pub fn is_province_code(code: u32) -> bool {
    matches!(
        code,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82
    )
}

/// A county-level unit of the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct District {
    pub code: AreaCode,
    pub name: &'static str,
    pub name_en: &'static str,
    /// Districts (区) are mostly urban; counties (县) mostly rural.
    pub is_county: bool,
}

/// 大庆市.
pub const DAQING: AreaCode = AreaCode(230600);

/// Daqing's five districts and four counties (GB/T 2260).
pub const DAQING_DISTRICTS: [District; 9] = [
    District {
        code: AreaCode(230602),
        name: "萨尔图区",
        name_en: "Sartu District",
        is_county: false,
    },
    District {
        code: AreaCode(230603),
        name: "龙凤区",
        name_en: "Longfeng District",
        is_county: false,
    },
    District {
        code: AreaCode(230604),
        name: "让胡路区",
        name_en: "Ranghulu District",
        is_county: false,
    },
    District {
        code: AreaCode(230605),
        name: "红岗区",
        name_en: "Honggang District",
        is_county: false,
    },
    District {
        code: AreaCode(230606),
        name: "大同区",
        name_en: "Datong District",
        is_county: false,
    },
    District {
        code: AreaCode(230621),
        name: "肇州县",
        name_en: "Zhaozhou County",
        is_county: true,
    },
    District {
        code: AreaCode(230622),
        name: "肇源县",
        name_en: "Zhaoyuan County",
        is_county: true,
    },
    District {
        code: AreaCode(230623),
        name: "林甸县",
        name_en: "Lindian County",
        is_county: true,
    },
    District {
        code: AreaCode(230624),
        name: "杜尔伯特蒙古族自治县",
        name_en: "Dorbod Mongol Autonomous County",
        is_county: true,
    },
];

/// Looks up one of Daqing's county-level units.
pub fn daqing_district(code: AreaCode) -> Option<&'static District> {
    DAQING_DISTRICTS.iter().find(|d| d.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daqing_units_parse_and_belong_to_the_city() {
        for d in DAQING_DISTRICTS {
            let parsed = AreaCode::parse(&d.code.to_string()).unwrap();
            assert_eq!(parsed, d.code);
            assert_eq!(parsed.city(), DAQING);
            assert!(!parsed.is_city());
        }
        assert!(DAQING.is_city());
        assert_eq!(DAQING.province(), 23);
    }

    #[test]
    fn bad_area_codes_are_refused() {
        for bad in ["", "23060", "2306021", "99060a", "990602", "000000"] {
            assert!(AreaCode::parse(bad).is_err(), "{bad}");
        }
    }
}

//! Enumerations of the registry, each with a stable code (used in files and the database), a Chinese and an
//! English label. Parsing accepts any of the three, so import files may use either language.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An enumeration value that was not recognised; carries the accepted values for the error report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("无法识别“{value}”，可选值：{accepted} / unrecognised “{value}”, accepted: {accepted}")]
pub struct ParseKindError {
    pub value: String,
    pub accepted: String,
}

macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($code:literal, $zh:literal, $en:literal $(, $alias:literal)*)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code used in files, URLs and the database.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn label_en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }

            /// Accepts the code, the Chinese label, the English label (any case) or a listed alias.
            pub fn parse(text: &str) -> Result<$name, ParseKindError> {
                let text = text.trim();
                $(
                    if text == $code || text == $zh || text.eq_ignore_ascii_case($en) $(|| text == $alias)* {
                        return Ok($name::$variant);
                    }
                )+
                Err(ParseKindError {
                    value: text.to_owned(),
                    accepted: [$(concat!($zh, "/", $code)),+].join("，"),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseKindError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.code()
            }
        }
    };
}

labelled_enum! {
    /// The kind of an institution (办学类型).
    InstitutionKind {
        Kindergarten => ("kindergarten", "幼儿园", "Kindergarten"),
        Primary => ("primary", "小学", "Primary school"),
        Junior => ("junior", "初级中学", "Junior high school", "初中"),
        Senior => ("senior", "高级中学", "Senior high school", "高中", "普通高中"),
        NineYear => ("nine_year", "九年一贯制学校", "Nine-year school", "九年一贯制"),
        TwelveYear => ("twelve_year", "十二年一贯制学校", "Twelve-year school", "十二年一贯制"),
        Vocational => ("vocational", "中等职业学校", "Vocational school", "中职", "职业学校"),
        Special => ("special", "特殊教育学校", "Special education school", "特教学校"),
        CommunityCollege => ("community_college", "社区教育学院", "Community-education college"),
        CommunitySchool => ("community_school", "社区教育学校", "Community school"),
        TrainingInstitution => ("training_institution", "校外培训机构", "Off-campus training institution"),
    }
}

impl InstitutionKind {
    /// Kinds that enrol pupils in grades (have 学籍).
    pub fn has_pupils(self) -> bool {
        !matches!(
            self,
            InstitutionKind::CommunityCollege
                | InstitutionKind::CommunitySchool
                | InstitutionKind::TrainingInstitution
        )
    }

    /// The grades an institution of this kind teaches (kindergarten 1–3 = 小/中/大班; school grades 1–12).
    pub fn grades(self) -> std::ops::RangeInclusive<u8> {
        match self {
            InstitutionKind::Kindergarten => 1..=3,
            InstitutionKind::Primary => 1..=6,
            InstitutionKind::Junior => 7..=9,
            InstitutionKind::Senior | InstitutionKind::Vocational => 10..=12,
            InstitutionKind::NineYear => 1..=9,
            InstitutionKind::TwelveYear => 1..=12,
            InstitutionKind::Special => 1..=9,
            #[allow(clippy::reversed_empty_ranges)]
            _ => 1..=0,
        }
    }
}

labelled_enum! {
    /// 办学性质.
    Ownership {
        Public => ("public", "公办", "Public"),
        Private => ("private", "民办", "Private"),
    }
}

labelled_enum! {
    /// 城乡分类 (simplified to urban/rural).
    Area {
        Urban => ("urban", "城区", "Urban", "城市", "城镇"),
        Rural => ("rural", "乡村", "Rural", "农村"),
    }
}

labelled_enum! {
    /// Who runs an institution: the city bureau (市属) or a district/county bureau (区县属).
    Authority {
        City => ("city", "市属", "City"),
        District => ("district", "区县属", "District"),
    }
}

labelled_enum! {
    /// Sex as recorded in 学籍 (fair-allocation files also accept M/F).
    Sex {
        Male => ("M", "男", "Male", "m"),
        Female => ("F", "女", "Female", "f"),
    }
}

labelled_enum! {
    /// 学籍状态.
    PupilStatus {
        Enrolled => ("enrolled", "在籍", "Enrolled", "在读"),
        Transferred => ("transferred", "转出", "Transferred"),
        Graduated => ("graduated", "毕业", "Graduated"),
        Left => ("left", "离校", "Left", "休学", "退学"),
    }
}

labelled_enum! {
    /// 岗位.
    StaffRole {
        Teacher => ("teacher", "教师", "Teacher", "专任教师"),
        Principal => ("principal", "校长", "Principal", "园长"),
        SecurityGuard => ("security_guard", "安保人员", "Security guard", "保安"),
        Doctor => ("doctor", "校医", "Doctor", "医生"),
        Nurse => ("nurse", "保育员", "Nurse"),
        Cook => ("cook", "炊事员", "Cook"),
        Driver => ("driver", "校车司机", "Driver"),
        Other => ("other", "其他", "Other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_round_trips() {
        for kind in InstitutionKind::ALL {
            assert_eq!(InstitutionKind::parse(kind.code()), Ok(*kind));
            assert_eq!(InstitutionKind::parse(kind.label_zh()), Ok(*kind));
            assert_eq!(
                InstitutionKind::parse(&kind.label_en().to_uppercase()),
                Ok(*kind)
            );
        }
        for role in StaffRole::ALL {
            assert_eq!(StaffRole::parse(role.label_zh()), Ok(*role));
        }
        assert_eq!(Sex::parse("男"), Ok(Sex::Male));
        assert_eq!(Sex::parse("f"), Ok(Sex::Female));
        assert_eq!(InstitutionKind::parse("初中"), Ok(InstitutionKind::Junior));
    }

    #[test]
    fn unknown_values_list_what_is_accepted() {
        let error = Ownership::parse("合资").unwrap_err();
        assert!(error.to_string().contains("公办/public"));
        assert!(error.to_string().contains("合资"));
    }

    #[test]
    fn grades_by_kind() {
        assert_eq!(InstitutionKind::Kindergarten.grades(), 1..=3);
        assert!(InstitutionKind::CommunitySchool.grades().is_empty());
        assert!(!InstitutionKind::TrainingInstitution.has_pupils());
    }
}

//! Simplified Chinese by default, English on request: message catalogs embedded from `i18n/*.toml`.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The `lang` cookie decides; without it, Simplified Chinese.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        match crate::guard::cookie_value(headers, "lang") {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn cookie_code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// One catalog file per capability, so each capability's texts live beside each other.
const ZH_SOURCES: &[&str] = &[
    include_str!("../i18n/zh-CN/core.toml"),
    include_str!("../i18n/zh-CN/plan.toml"),
    include_str!("../i18n/zh-CN/reports.toml"),
    include_str!("../i18n/zh-CN/ledgers.toml"),
    include_str!("../i18n/zh-CN/fair.toml"),
    include_str!("../i18n/zh-CN/timetable.toml"),
];
const EN_SOURCES: &[&str] = &[
    include_str!("../i18n/en/core.toml"),
    include_str!("../i18n/en/plan.toml"),
    include_str!("../i18n/en/reports.toml"),
    include_str!("../i18n/en/ledgers.toml"),
    include_str!("../i18n/en/fair.toml"),
    include_str!("../i18n/en/timetable.toml"),
];

pub type Catalog = HashMap<String, String>;

fn parse_one(source: &str) -> Catalog {
    // The catalogs are compiled in and checked by a test, so a parse failure is a build defect; fall back to keys.
    toml::from_str::<toml::Table>(source)
        .map(|table| {
            table
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn parse(sources: &[&str]) -> Catalog {
    sources.iter().flat_map(|s| parse_one(s)).collect()
}

fn catalog(lang: Lang) -> &'static Catalog {
    static ZH: OnceLock<Catalog> = OnceLock::new();
    static EN: OnceLock<Catalog> = OnceLock::new();
    match lang {
        Lang::Zh => ZH.get_or_init(|| parse(ZH_SOURCES)),
        Lang::En => EN.get_or_init(|| parse(EN_SOURCES)),
    }
}

/// The translator handed to templates: `{{ t.s("nav.home") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The message for a key (the key itself when missing, which a test forbids).
    pub fn s<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        catalog(self.lang)
            .get(key)
            .map(String::as_str)
            .unwrap_or(key)
    }

    pub fn zh(&self) -> bool {
        self.lang == Lang::Zh
    }

    /// Picks between a Chinese and an English label carried by data (enum labels).
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.zh() { zh } else { en }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_parse_and_have_the_same_keys() {
        for source in ZH_SOURCES.iter().chain(EN_SOURCES) {
            assert!(
                toml::from_str::<toml::Table>(source).is_ok(),
                "a catalog file does not parse"
            );
        }
        // No key is defined in two files.
        for sources in [ZH_SOURCES, EN_SOURCES] {
            let total: usize = sources.iter().map(|s| parse_one(s).len()).sum();
            assert_eq!(
                total,
                parse(sources).len(),
                "a key is defined in more than one catalog file"
            );
        }
        let zh = parse(ZH_SOURCES);
        let en = parse(EN_SOURCES);
        assert!(zh.len() > 50, "zh catalog has {} keys", zh.len());
        let mut missing_en: Vec<&String> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let mut missing_zh: Vec<&String> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        missing_en.sort();
        missing_zh.sort();
        assert!(
            missing_en.is_empty() && missing_zh.is_empty(),
            "en lacks {missing_en:?}; zh lacks {missing_zh:?}"
        );
    }

    /// Every key passed to `t.s` in a template or handler exists in both catalogs.
    #[test]
    fn every_used_key_is_translated() {
        let zh = parse(ZH_SOURCES);
        let mut sources = Vec::new();
        for dir in ["templates", "src"] {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            collect(&root, &mut sources);
        }
        let mut missing = Vec::new();
        for (path, text) in &sources {
            // Page titles: the last string argument of `Chrome::new(...)`.
            for part in text.split("Chrome::new(").skip(1) {
                let call = part.split(')').next().unwrap_or("");
                if let Some(key) = call.rsplit('"').nth(1)
                    && key.contains('.')
                    && !zh.contains_key(key)
                {
                    missing.push(format!("{path}: {key}"));
                }
            }
            for part in text.split("t.s(\"").skip(1) {
                if let Some(key) = part.split('"').next()
                    && !zh.contains_key(key)
                {
                    missing.push(format!("{path}: {key}"));
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "untranslated keys: {missing:#?}");
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect(&path, out);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((path.display().to_string(), text));
            }
        }
    }
}

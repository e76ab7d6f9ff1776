//! Checks the plan's `[[coverage]]` against the seed document: every sentence listed, in order, with a faithful
//! Simplified-Chinese transcription.
//!
//! Transcription is checked without a conversion table: the plan's sentence must have as many characters as the
//! seed's, and every character that differs must follow one consistent mapping across the whole document (a
//! traditional character always becomes the same simplified one, and is never also kept as it is). `『』` become
//! `“”`. A typo, a dropped clause or a character converted two ways shows up as a problem.

use std::collections::BTreeMap;

use crate::plan::Plan;

/// One sentence of the seed with its locator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSentence {
    /// `p<line>.s<n>`, both 1-based.
    pub locator: String,
    pub text: String,
}

/// Splits a seed document into sentences: a paragraph is a line; a sentence ends with 。；！？ or the line's end.
pub fn seed_sentences(seed: &str) -> Vec<SeedSentence> {
    let mut sentences = Vec::new();
    for (line_index, line) in seed.lines().enumerate() {
        let mut number = 0;
        let mut current = String::new();
        let mut flush = |current: &mut String| {
            if !current.trim().is_empty() {
                number += 1;
                sentences.push(SeedSentence {
                    locator: format!("p{}.s{number}", line_index + 1),
                    text: std::mem::take(current),
                });
            }
            current.clear();
        };
        for c in line.chars() {
            current.push(c);
            if matches!(c, '。' | '；' | '！' | '？') {
                flush(&mut current);
            }
        }
        flush(&mut current);
    }
    sentences
}

/// Problems of the plan's coverage against the seed document; empty when every sentence is there, faithfully.
pub fn check_seed_coverage(plan: &Plan, seed: &str) -> Vec<String> {
    let sentences = seed_sentences(seed);
    let entries: BTreeMap<&str, &str> = plan
        .coverage()
        .iter()
        .map(|entry| (entry.seed.as_str(), entry.text.as_str()))
        .collect();
    let mut problems = Vec::new();
    let mut mapping: BTreeMap<char, (char, String)> = BTreeMap::new();
    for sentence in &sentences {
        let Some(text) = entries.get(sentence.locator.as_str()) else {
            problems.push(format!(
                "seed sentence {} is missing from [[coverage]]: {}",
                sentence.locator, sentence.text
            ));
            continue;
        };
        let original: Vec<char> = sentence.text.chars().collect();
        let transcribed: Vec<char> = text.chars().collect();
        if original.len() != transcribed.len() {
            problems.push(format!(
                "{}: transcription has {} characters, the seed sentence {} (dropped or added text?)",
                sentence.locator,
                transcribed.len(),
                original.len()
            ));
            continue;
        }
        for (position, (&from, &to)) in original.iter().zip(&transcribed).enumerate() {
            let expected = match from {
                '『' => Some('“'),
                '』' => Some('”'),
                c if c.is_ascii() => Some(c),
                _ => None,
            };
            if let Some(expected) = expected {
                if to != expected {
                    problems.push(format!(
                        "{} character {}: `{to}` where the seed has `{from}`",
                        sentence.locator,
                        position + 1
                    ));
                }
                continue;
            }
            match mapping.get(&from) {
                Some((mapped, first_seen)) if *mapped != to => problems.push(format!(
                    "{} character {}: `{from}` is written `{to}` here but `{mapped}` in {first_seen}",
                    sentence.locator,
                    position + 1
                )),
                Some(_) => {}
                None => {
                    mapping.insert(from, (to, sentence.locator.clone()));
                }
            }
        }
    }
    let known: Vec<&str> = sentences
        .iter()
        .map(|sentence| sentence.locator.as_str())
        .collect();
    for entry in plan.coverage() {
        if !known.contains(&entry.seed.as_str()) {
            problems.push(format!(
                "[[coverage]] lists {}, which is not a sentence of the seed",
                entry.seed
            ));
        }
    }
    let order: Vec<&str> = plan
        .coverage()
        .iter()
        .map(|entry| entry.seed.as_str())
        .filter(|s| known.contains(s))
        .collect();
    if order
        != known
            .iter()
            .copied()
            .filter(|s| entries.contains_key(s))
            .collect::<Vec<_>>()
    {
        problems.push("[[coverage]] is not in the order of the seed".to_owned());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_full_stops_and_lines() {
        let sentences = seed_sentences("標題\n甲,乙。丙；丁\n");
        let locators: Vec<&str> = sentences.iter().map(|s| s.locator.as_str()).collect();
        assert_eq!(locators, ["p1.s1", "p2.s1", "p2.s2", "p2.s3"]);
        assert_eq!(sentences[1].text, "甲,乙。");
    }
}

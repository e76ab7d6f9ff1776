//! Password policy (等保 mode by default) and argon2id hashing on a bounded blocking pool.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Argon2, Params};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Password rules; the defaults are the national (等保) rules of SECURITY.md AUTH-02.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
    /// How many of the four classes (lower, upper, digit, other) a password must contain.
    pub min_classes: usize,
    /// Days before a password must be changed; 0 disables expiry (the ASVS setting).
    pub expiry_days: i64,
    /// How many previous passwords may not be reused.
    pub history: i64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars: 8,
            max_chars: 128,
            min_classes: 3,
            expiry_days: 90,
            history: 5,
        }
    }
}

/// Why a password was refused; each reason names the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PolicyViolation {
    TooShort { min: usize },
    TooLong { max: usize },
    TooFewClasses { min: usize, found: usize },
    Common,
    ContainsContext(String),
    Reused,
}

impl PolicyViolation {
    pub fn message_zh(&self) -> String {
        match self {
            PolicyViolation::TooShort { min } => format!("密码至少 {min} 个字符"),
            PolicyViolation::TooLong { max } => format!("密码最多 {max} 个字符"),
            PolicyViolation::TooFewClasses { min, found } => {
                format!(
                    "密码须包含小写字母、大写字母、数字、符号中的至少 {min} 类（当前 {found} 类）"
                )
            }
            PolicyViolation::Common => "密码过于常见，容易被猜中".to_owned(),
            PolicyViolation::ContainsContext(word) => format!("密码不能包含“{word}”"),
            PolicyViolation::Reused => "不能重复使用最近用过的密码".to_owned(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            PolicyViolation::TooShort { min } => format!("at least {min} characters"),
            PolicyViolation::TooLong { max } => format!("at most {max} characters"),
            PolicyViolation::TooFewClasses { min, found } => {
                format!("at least {min} of lower case, upper case, digits, symbols (found {found})")
            }
            PolicyViolation::Common => "too common, easy to guess".to_owned(),
            PolicyViolation::ContainsContext(word) => format!("must not contain “{word}”"),
            PolicyViolation::Reused => "must not reuse a recent password".to_owned(),
        }
    }
}

/// Words a password may not contain, whatever the user: the city, the product, common school words.
const CONTEXT_WORDS: &[&str] = &[
    "daqing", "eduplan", "school", "xuexiao", "jiaoyu", "admin", "password", "大庆", "学校",
    "教育", "城市",
];

/// Base words of commonly used passwords (written for EduPlan, not taken from any list): with case changes,
/// digit suffixes and leetspeak they cover the forms that password-spraying tries first.
const COMMON_BASES: &[&str] = &[
    "password",
    "passw0rd",
    "qwerty",
    "qwertyuiop",
    "asdfgh",
    "asdfghjkl",
    "zxcvbn",
    "zxcvbnm",
    "abc",
    "abcd",
    "abcdef",
    "abcdefg",
    "iloveyou",
    "woaini",
    "woaini1314",
    "aini",
    "admin",
    "administrator",
    "root",
    "user",
    "test",
    "guest",
    "welcome",
    "letmein",
    "monkey",
    "dragon",
    "master",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "shadow",
    "superman",
    "batman",
    "trustno1",
    "hello",
    "freedom",
    "whatever",
    "qazwsx",
    "1qaz2wsx",
    "1q2w3e4r",
    "1q2w3e",
    "q1w2e3r4",
    "zaq12wsx",
    "changeme",
    "secret",
    "login",
    "pass",
    "china",
    "beijing",
    "shanghai",
    "zhongguo",
    "xiaoming",
    "wang",
    "zhang",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "computer",
    "internet",
    "teacher",
    "student",
    "laoshi",
    "xuesheng",
    "nihao",
    "aaaaaa",
    "a1b2c3",
    "default",
    "system",
];

fn unleet(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'i',
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '@' => 'a',
            '$' => 's',
            _ => c,
        })
        .collect()
}

/// True for passwords made of a common base, a keyboard run, a repeated character or digits only; trailing
/// digits and symbols ("Password2021!") and leetspeak ("P@ssw0rd") do not hide the base.
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    if lower.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first) {
        return true;
    }
    let core = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let core_unleet = unleet(core);
    let whole_unleet = unleet(lower.trim_end_matches(|c: char| c.is_ascii_punctuation()));
    let candidates = [
        lower.as_str(),
        core,
        core_unleet.as_str(),
        whole_unleet.as_str(),
    ];
    candidates.iter().any(|c| COMMON_BASES.contains(c)) || is_sequence(core)
}

/// Ascending or descending runs such as "abcdefgh" or "87654321".
fn is_sequence(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 6 {
        return false;
    }
    let up = bytes.windows(2).all(|w| w[1] == w[0].wrapping_add(1));
    let down = bytes.windows(2).all(|w| w[1].wrapping_add(1) == w[0]);
    up || down
}

fn classes(password: &str) -> usize {
    let lower = password.chars().any(|c| c.is_lowercase());
    let upper = password.chars().any(|c| c.is_uppercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let other = password.chars().any(|c| !c.is_alphanumeric());
    [lower, upper, digit, other].iter().filter(|b| **b).count()
}

impl PasswordPolicy {
    /// Every rule the password breaks (empty = acceptable). `context` adds user-specific words (username, name).
    pub fn check(&self, password: &str, context: &[&str]) -> Vec<PolicyViolation> {
        let mut violations = Vec::new();
        let chars = password.chars().count();
        if chars < self.min_chars {
            violations.push(PolicyViolation::TooShort {
                min: self.min_chars,
            });
        }
        if chars > self.max_chars {
            violations.push(PolicyViolation::TooLong {
                max: self.max_chars,
            });
        }
        let found = classes(password);
        if found < self.min_classes {
            violations.push(PolicyViolation::TooFewClasses {
                min: self.min_classes,
                found,
            });
        }
        if is_common(password) {
            violations.push(PolicyViolation::Common);
        }
        let lower = password.to_lowercase();
        for word in CONTEXT_WORDS.iter().copied().chain(context.iter().copied()) {
            let word_lower = word.to_lowercase();
            let min_chars = if word.is_ascii() { 3 } else { 2 };
            if word_lower.chars().count() >= min_chars && lower.contains(&word_lower) {
                violations.push(PolicyViolation::ContainsContext(word.to_owned()));
            }
        }
        violations
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// argon2id (m = 19456 KiB, t = 2, p = 1, the ASVS minimum) on tokio's blocking pool, at most `permits` at once
/// so a burst of logins cannot starve other requests.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    params: Params,
}

impl PasswordHasher {
    pub fn new(concurrent: usize) -> PasswordHasher {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            params: Params::DEFAULT,
        }
    }

    /// Cheap parameters for tests only (m = 8 KiB, t = 1).
    pub fn for_tests() -> PasswordHasher {
        let params = Params::new(8, 1, 1, None).unwrap_or(Params::DEFAULT);
        PasswordHasher {
            permits: Arc::new(Semaphore::new(4)),
            params,
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = Zeroizing::new(password.to_owned());
        let params = self.params.clone();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(move || hash_now(&password, params))
            .await
            .map_err(|e| HashError::Hash(e.to_string()))?
    }

    /// Constant-work verification: an unknown user is verified against a dummy hash by the caller.
    pub async fn verify(&self, password: &str, phc: &str) -> bool {
        let password = Zeroizing::new(password.to_owned());
        let phc = phc.to_owned();
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || verify_now(&password, &phc))
            .await
            .unwrap_or(false)
    }

    /// True when a stored hash uses weaker parameters than the current ones (rehash at next login).
    pub fn needs_rehash(&self, phc: &str) -> bool {
        match stored_params(phc) {
            Some((m, t, p)) => {
                m < self.params.m_cost() || t < self.params.t_cost() || p != self.params.p_cost()
            }
            None => true,
        }
    }
}

/// Hashes synchronously (used where no runtime is available, e.g. generating demo accounts).
pub fn hash_now(password: &str, params: Params) -> Result<String, HashError> {
    Argon2::from(params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

pub fn verify_now(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// (m_cost KiB, t_cost, p_cost) of a stored PHC string.
pub fn stored_params(phc: &str) -> Option<(u32, u32, u32)> {
    let parsed = PasswordHash::new(phc).ok()?;
    let params = Params::try_from(&parsed).ok()?;
    Some((params.m_cost(), params.t_cost(), params.p_cost()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn policy_table() {
        let policy = PasswordPolicy::default();
        let cases: &[(&str, bool)] = &[
            ("Short1!", false),
            ("alllowercase", false),
            ("Lower+Upper", true),
            ("lower123", false),
            ("lower1234!", true),
            ("Password2021!", false),
            ("P@ssw0rd!", false),
            ("Qwerty123!", false),
            ("12345678", false),
            ("Daqing#2021x", false),
            ("大庆Edu#2021", false),
            ("Kx7#mP2q", true),
            ("秋天的雪Ab3x", true),
        ];
        for (password, ok) in cases {
            let violations = policy.check(password, &["zhangwei"]);
            assert_eq!(violations.is_empty(), *ok, "{password}: {violations:?}");
        }
        assert!(
            policy
                .check("Zhangwei#88", &["zhangwei"])
                .contains(&PolicyViolation::ContainsContext("zhangwei".into()))
        );
        // Long passwords are allowed up to 128 characters, never truncated.
        assert!(
            policy
                .check(&format!("Aa1{}", "x".repeat(125)), &[])
                .is_empty()
        );
        assert!(
            policy
                .check(&format!("Aa1{}", "x".repeat(126)), &[])
                .contains(&PolicyViolation::TooLong { max: 128 })
        );
    }

    proptest! {
        /// The length and class rules are exactly as specified for random strings.
        #[test]
        fn length_and_class_rules_are_exact(password in "[a-zA-Z0-9#%&*]{0,140}") {
            let policy = PasswordPolicy::default();
            let violations = policy.check(&password, &[]);
            let chars = password.chars().count();
            prop_assert_eq!(violations.contains(&PolicyViolation::TooShort { min: 8 }), chars < 8);
            prop_assert_eq!(violations.contains(&PolicyViolation::TooLong { max: 128 }), chars > 128);
            let found = classes(&password);
            prop_assert_eq!(violations.contains(&PolicyViolation::TooFewClasses { min: 3, found }), found < 3);
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_parameters() {
        let hasher = PasswordHasher::new(2);
        let phc = hasher.hash("Kx7#mP2q").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let (m, t, p) = stored_params(&phc).unwrap();
        assert!(m >= 19_456 && t >= 2 && p >= 1);
        assert!(hasher.verify("Kx7#mP2q", &phc).await);
        assert!(!hasher.verify("Kx7#mP2Q", &phc).await);
        assert!(!hasher.needs_rehash(&phc));
        let weak = PasswordHasher::for_tests().hash("Kx7#mP2q").await.unwrap();
        assert!(hasher.needs_rehash(&weak));
    }
}

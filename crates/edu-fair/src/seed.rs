//! Seeds, the draw ceremony and lottery keys (spec: "Seeds and lottery numbers").

use sha2::{Digest, Sha256};

/// A 32-byte draw seed, written as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seed([u8; 32]);

/// Why a hex value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("expected {expected} hex characters, got {got}")]
    WrongLength { expected: usize, got: usize },
    #[error("not a hex string: {0}")]
    NotHex(String),
}

impl Seed {
    pub const fn from_bytes(bytes: [u8; 32]) -> Seed {
        Seed(bytes)
    }

    /// Parses 64 hex characters (lowercase is canonical; uppercase is accepted).
    pub fn from_hex(text: &str) -> Result<Seed, HexError> {
        Ok(Seed(digest_from_hex(text)?))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The canonical form: 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Seed({})", self.to_hex())
    }
}

impl std::fmt::Display for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Parses a 32-byte value written as 64 hex characters (a SHA-256 digest or a seed).
pub fn digest_from_hex(text: &str) -> Result<[u8; 32], HexError> {
    let text = text.trim();
    if text.len() != 64 {
        return Err(HexError::WrongLength {
            expected: 64,
            got: text.len(),
        });
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|_| HexError::NotHex(text.to_string()))?;
    Ok(out)
}

/// Parses any even-length hex string (the ceremony secret).
pub fn bytes_from_hex(text: &str) -> Result<Vec<u8>, HexError> {
    hex::decode(text.trim()).map_err(|_| HexError::NotHex(text.trim().to_string()))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of `bytes` as 64 lowercase hex characters.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// The purpose of a lottery key; its ASCII name is hashed into the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    Admit,
    Balance,
    Teacher,
    Seat,
    Duty,
    Election,
}

impl Purpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::Admit => "admit",
            Purpose::Balance => "balance",
            Purpose::Teacher => "teacher",
            Purpose::Seat => "seat",
            Purpose::Duty => "duty",
            Purpose::Election => "election",
        }
    }
}

/// The lottery key of `id` for `purpose`: the first 8 bytes, big-endian, of
/// `SHA-256(seed ‖ purpose ‖ 0x00 ‖ id)`. A smaller key wins.
pub fn lottery_key(seed: &Seed, purpose: Purpose, id: &str) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.0);
    hasher.update(purpose.as_str().as_bytes());
    hasher.update([0u8]);
    hasher.update(id.as_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The draw ceremony: `seed = SHA-256(secret ‖ beacon ‖ input_digest)` over raw bytes
/// (secret and input digest already hex-decoded, beacon as UTF-8).
pub fn ceremony_seed(secret: &[u8], beacon: &str, input_digest: &[u8; 32]) -> Seed {
    let mut hasher = Sha256::new();
    hasher.update(secret);
    hasher.update(beacon.as_bytes());
    hasher.update(input_digest);
    Seed(hasher.finalize().into())
}

/// The commitment the bureau publishes before the draw: `SHA-256(secret)`.
pub fn commitment(secret: &[u8]) -> [u8; 32] {
    sha256(secret)
}

/// The seed ceremony as recorded in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub secret: Vec<u8>,
    pub beacon: String,
}

impl Ceremony {
    pub fn commitment_hex(&self) -> String {
        hex::encode(commitment(&self.secret))
    }

    pub fn seed(&self, input_digest: &[u8; 32]) -> Seed {
        ceremony_seed(&self.secret, &self.beacon, input_digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lottery_key_is_the_first_eight_bytes_of_the_spec_hash() {
        let seed = Seed::from_bytes([7u8; 32]);
        let mut bytes = vec![7u8; 32];
        bytes.extend_from_slice(b"admit\0pupil-1");
        let digest = sha256(&bytes);
        let expected = u64::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ]);
        assert_eq!(lottery_key(&seed, Purpose::Admit, "pupil-1"), expected);
        assert_ne!(lottery_key(&seed, Purpose::Balance, "pupil-1"), expected);
    }

    #[test]
    fn ceremony_hashes_secret_beacon_and_digest_in_order() {
        let secret = bytes_from_hex("00ff10").unwrap();
        let digest = [0xabu8; 32];
        let mut bytes = vec![0x00, 0xff, 0x10];
        bytes.extend_from_slice("双色球 2026-11-29".as_bytes());
        bytes.extend_from_slice(&digest);
        assert_eq!(
            ceremony_seed(&secret, "双色球 2026-11-29", &digest).as_bytes(),
            &sha256(&bytes)
        );
    }

    #[test]
    fn seed_hex_round_trips_and_rejects_bad_input() {
        let text = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(Seed::from_hex(text).unwrap().to_hex(), text);
        assert_eq!(Seed::from_hex(&text.to_uppercase()).unwrap().to_hex(), text);
        assert!(Seed::from_hex(&text[..62]).is_err());
        assert!(Seed::from_hex(&text.replace('a', "g")).is_err());
    }
}

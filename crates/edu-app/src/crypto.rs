//! Field encryption (SM4-GCM), blind indexes and the audit chain (HMAC-SM3), tokens, and the key file.
//!
//! Ciphertext layout: `[format 0x01][key id][96-bit random nonce][ciphertext ‖ 128-bit tag]`, with the AAD
//! `table:column:row-key`, so a ciphertext moved to another row or column fails to decrypt (SECURITY.md DATA-01).
//! Keys live in a key file outside the database; data keys carry an id so they can be rotated.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{AesGcm, KeyInit};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;
type HmacSm3 = Hmac<sm3::Sm3>;

const CIPHERTEXT_FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("no data key with id {0}")]
    UnknownKey(u8),
    #[error("decryption failed (wrong key, wrong row or tampered data)")]
    Decrypt,
    #[error("system random number generator failed")]
    Random,
}

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| CryptoError::Random)?;
    Ok(buf)
}

/// A 256-bit random token as URL-safe base64 (sessions, API tokens, CSRF tokens).
pub fn random_token() -> Result<String, CryptoError> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// Digests are stored as unpadded base64url rather than hex: a hex string is made of digits often enough to
/// look like an ID number to the "no 18-digit pattern in the database" check (SECURITY.md DATA-01).
pub fn encode_digest(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token: what the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    encode_digest(&Sha256::digest(token.as_bytes()))
}

/// The keys of one deployment.
pub struct KeyRing {
    data_keys: BTreeMap<u8, Zeroizing<[u8; 16]>>,
    active: u8,
    index_key: Zeroizing<[u8; 32]>,
    audit_key: Zeroizing<[u8; 32]>,
}

/// Secrets never reach logs.
impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("data_keys", &self.data_keys.keys().collect::<Vec<_>>())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    active_key: u8,
    index_key: String,
    audit_key: String,
    data_keys: Vec<KeyFileDataKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileDataKey {
    id: u8,
    key: String,
}

fn decode_key<const N: usize>(hex_text: &str, what: &str) -> Result<Zeroizing<[u8; N]>, String> {
    let bytes =
        Zeroizing::new(hex::decode(hex_text.trim()).map_err(|_| format!("{what} is not hex"))?);
    let mut key = Zeroizing::new([0u8; N]);
    if bytes.len() != N {
        return Err(format!("{what} must be {N} bytes"));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

impl KeyRing {
    /// Fresh random keys (first run, demo).
    pub fn generate() -> Result<KeyRing, CryptoError> {
        let mut data_keys = BTreeMap::new();
        data_keys.insert(1, Zeroizing::new(random_bytes::<16>()?));
        Ok(KeyRing {
            data_keys,
            active: 1,
            index_key: Zeroizing::new(random_bytes::<32>()?),
            audit_key: Zeroizing::new(random_bytes::<32>()?),
        })
    }

    /// Fixed keys derived from a seed, for tests and reproducible fixtures only.
    pub fn for_tests(seed: u8) -> KeyRing {
        let derive = |label: &str| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update([seed]);
            h.update(label.as_bytes());
            h.finalize().into()
        };
        let mut data = [0u8; 16];
        data.copy_from_slice(&derive("data")[..16]);
        let mut data_keys = BTreeMap::new();
        data_keys.insert(1, Zeroizing::new(data));
        KeyRing {
            data_keys,
            active: 1,
            index_key: Zeroizing::new(derive("index")),
            audit_key: Zeroizing::new(derive("audit")),
        }
    }

    pub fn load(path: &Path) -> Result<KeyRing, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
        let file: KeyFile = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        if file.version != 1 {
            return Err(err(format!(
                "unsupported key file version {}",
                file.version
            )));
        }
        let mut data_keys = BTreeMap::new();
        for k in &file.data_keys {
            data_keys.insert(k.id, decode_key::<16>(&k.key, "data key").map_err(err)?);
        }
        if !data_keys.contains_key(&file.active_key) {
            return Err(err(format!(
                "active key {} is not in data_keys",
                file.active_key
            )));
        }
        Ok(KeyRing {
            data_keys,
            active: file.active_key,
            index_key: decode_key::<32>(&file.index_key, "index_key").map_err(err)?,
            audit_key: decode_key::<32>(&file.audit_key, "audit_key").map_err(err)?,
        })
    }

    /// Writes the key file (mode 0600 on Unix). Refuses to overwrite an existing file.
    pub fn save(&self, path: &Path) -> Result<(), CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let file = KeyFile {
            version: 1,
            active_key: self.active,
            index_key: hex::encode(self.index_key.as_slice()),
            audit_key: hex::encode(self.audit_key.as_slice()),
            data_keys: self
                .data_keys
                .iter()
                .map(|(id, key)| KeyFileDataKey {
                    id: *id,
                    key: hex::encode(key.as_slice()),
                })
                .collect(),
        };
        let body = Zeroizing::new(toml::to_string(&file).map_err(|e| err(e.to_string()))?);
        let text = Zeroizing::new(format!(
            "# EduPlan key file: SM4 data keys, the blind-index key and the audit-chain key.\n\
             # Keep it outside the database directory's backups, readable only by the service account.\n\
             # Losing it makes encrypted fields unreadable; leaking it exposes them.\n{}",
            body.as_str()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        use std::io::Write;
        let mut handle = options.open(path).map_err(|e| err(e.to_string()))?;
        handle
            .write_all(text.as_bytes())
            .map_err(|e| err(e.to_string()))?;
        Ok(())
    }

    /// Encrypts a field value bound to `table:column:row_key`.
    pub fn encrypt(
        &self,
        plaintext: &str,
        table: &str,
        column: &str,
        row_key: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .data_keys
            .get(&self.active)
            .ok_or(CryptoError::UnknownKey(self.active))?;
        let cipher = Sm4Gcm::new_from_slice(key.as_slice()).map_err(|_| CryptoError::Malformed)?;
        let nonce = random_bytes::<NONCE_LEN>()?;
        let aad = format!("{table}:{column}:{row_key}");
        let sealed = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Malformed)?;
        let mut out = Vec::with_capacity(2 + NONCE_LEN + sealed.len());
        out.push(CIPHERTEXT_FORMAT);
        out.push(self.active);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn decrypt(
        &self,
        ciphertext: &[u8],
        table: &str,
        column: &str,
        row_key: &str,
    ) -> Result<Zeroizing<String>, CryptoError> {
        if ciphertext.len() < 2 + NONCE_LEN + 16 || ciphertext[0] != CIPHERTEXT_FORMAT {
            return Err(CryptoError::Malformed);
        }
        let key = self
            .data_keys
            .get(&ciphertext[1])
            .ok_or(CryptoError::UnknownKey(ciphertext[1]))?;
        let cipher = Sm4Gcm::new_from_slice(key.as_slice()).map_err(|_| CryptoError::Malformed)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&ciphertext[2..2 + NONCE_LEN]);
        let aad = format!("{table}:{column}:{row_key}");
        let plain = cipher
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: &ciphertext[2 + NONCE_LEN..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain)
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// A deterministic keyed digest for exact lookup of an encrypted value (HMAC-SM3, base64url).
    pub fn blind_index(&self, domain: &str, value: &str) -> String {
        encode_digest(&self.hmac(
            self.index_key.as_slice(),
            &[domain.as_bytes(), value.as_bytes()],
        ))
    }

    /// HMAC-SM3 over length-prefixed parts with the audit key.
    pub fn audit_mac(&self, parts: &[&[u8]]) -> String {
        encode_digest(&self.hmac(self.audit_key.as_slice(), parts))
    }

    fn hmac(&self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        // HMAC accepts keys of any length, so construction cannot fail.
        let mut mac = <HmacSm3 as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// A value that identifies this key ring without revealing it; stored in the database so a mismatched key
    /// file is detected at start instead of producing undecryptable data.
    pub fn fingerprint(&self) -> String {
        self.audit_mac(&[b"eduplan key fingerprint"])[..16].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_is_bound_to_its_row() {
        let keys = KeyRing::for_tests(1);
        let ct = keys
            .encrypt("23060220150301214X", "pupils", "pupil_no", "abc")
            .unwrap();
        assert_eq!(
            keys.decrypt(&ct, "pupils", "pupil_no", "abc")
                .unwrap()
                .as_str(),
            "23060220150301214X"
        );
        // Wrong AAD (another row, another column) fails.
        assert!(matches!(
            keys.decrypt(&ct, "pupils", "pupil_no", "abd"),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            keys.decrypt(&ct, "pupils", "address", "abc"),
            Err(CryptoError::Decrypt)
        ));
        // Another key ring fails.
        assert!(
            KeyRing::for_tests(2)
                .decrypt(&ct, "pupils", "pupil_no", "abc")
                .is_err()
        );
        // Randomised: the same value encrypts differently each time, and the plaintext is not visible.
        let ct2 = keys
            .encrypt("23060220150301214X", "pupils", "pupil_no", "abc")
            .unwrap();
        assert_ne!(ct, ct2);
        assert!(!String::from_utf8_lossy(&ct).contains("230602"));
        // A flipped bit fails authentication.
        let mut tampered = ct.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            keys.decrypt(&tampered, "pupils", "pupil_no", "abc")
                .is_err()
        );
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let a = KeyRing::for_tests(1);
        assert_eq!(
            a.blind_index("pupil_no", "G1"),
            a.blind_index("pupil_no", "G1")
        );
        assert_ne!(
            a.blind_index("pupil_no", "G1"),
            a.blind_index("pupil_no", "G2")
        );
        assert_ne!(
            a.blind_index("pupil_no", "G1"),
            KeyRing::for_tests(2).blind_index("pupil_no", "G1")
        );
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        assert_ne!(a.audit_mac(&[b"ab", b"c"]), a.audit_mac(&[b"a", b"bc"]));
    }

    #[test]
    fn key_file_round_trips() {
        let dir = std::env::temp_dir().join(format!("eduplan-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("test.keys");
        let _ = std::fs::remove_file(&path);
        let keys = KeyRing::generate().unwrap();
        keys.save(&path).unwrap();
        assert!(keys.save(&path).is_err(), "must not overwrite a key file");
        let loaded = KeyRing::load(&path).unwrap();
        assert_eq!(loaded.fingerprint(), keys.fingerprint());
        let ct = keys.encrypt("x", "t", "c", "1").unwrap();
        assert_eq!(loaded.decrypt(&ct, "t", "c", "1").unwrap().as_str(), "x");
        std::fs::remove_file(&path).unwrap();
    }
}

//! Customers' personal data at rest: each field sealed with AES-256-GCM under a key of the PII key
//! ring (`control.pii_keys_dir`), the key id stored with the field, the meter and field name bound in
//! as associated data (a sealed value moved to another row or field does not open), and exact-match
//! search through keyed hashes (HMAC-SHA256) of the normalised phone and ID number. Keys are derived per
//! purpose from the ring's keys, so one key file serves sealing, search and Parquet exports.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use ingest::keyring::KeyRing;
use rand::RngCore;

use crate::ControlError;

/// The sealed form's version tag.
const VERSION: &str = "v1";

/// A personal-data field (the associated data of its ciphertext names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The customer's name.
    Name,
    /// Phone number.
    Phone,
    /// Postal address.
    Address,
    /// National ID number (身份证号).
    IdNumber,
    /// E-mail address for notifications.
    Email,
}

impl Field {
    /// The field's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Phone => "phone",
            Self::Address => "address",
            Self::IdNumber => "id_number",
            Self::Email => "email",
        }
    }

    /// The form a value is searched by: a phone's digits, an ID number upper-cased without spaces, a
    /// name lower-cased with its spaces collapsed.
    pub fn normalise(self, value: &str) -> String {
        match self {
            Self::Phone => value.chars().filter(char::is_ascii_digit).collect(),
            Self::IdNumber => value
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase(),
            Self::Name => value
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
            Self::Address => value.trim().to_string(),
            Self::Email => value.trim().to_lowercase(),
        }
    }
}

/// The PII key ring and what it derives.
#[derive(Debug, Clone)]
pub struct PiiKeys {
    ring: KeyRing,
}

fn derive(ring: &KeyRing, key_id: &str, purpose: &str) -> Result<[u8; 32], ControlError> {
    let tag = ring
        .mac_with(key_id, purpose.as_bytes())
        .map_err(|e| ControlError::Corrupt(format!("PII key {key_id}: {e}")))?;
    let bytes = hex::decode(tag).map_err(|e| ControlError::Corrupt(e.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| ControlError::Corrupt("a derived key is not 32 bytes".into()))
}

impl PiiKeys {
    /// Keys from `ring` (its newest key seals; every key opens what it sealed).
    pub fn new(ring: KeyRing) -> Self {
        Self { ring }
    }

    /// The key new values are sealed with.
    pub fn active_id(&self) -> &str {
        self.ring.active_id()
    }

    fn cipher(&self, key_id: &str) -> Result<Aes256Gcm, ControlError> {
        let key = derive(&self.ring, key_id, "meterlake pii aes-256-gcm v1")?;
        Aes256Gcm::new_from_slice(&key).map_err(|e| ControlError::Corrupt(e.to_string()))
    }

    fn associated(meter_id: &str, field: Field) -> String {
        format!("{meter_id}|{}", field.as_str())
    }

    /// Seals `value` of `field` for `meter_id` under the active key: `v1:<key id>:<nonce>:<ciphertext>`.
    pub fn seal(&self, meter_id: &str, field: Field, value: &str) -> Result<String, ControlError> {
        let key_id = self.ring.active_id();
        let mut nonce = [0_u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = Self::associated(meter_id, field);
        let sealed = self
            .cipher(key_id)?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| ControlError::Corrupt("sealing a personal-data field failed".into()))?;
        Ok(format!(
            "{VERSION}:{key_id}:{}:{}",
            hex::encode(nonce),
            hex::encode(sealed)
        ))
    }

    /// The key id a sealed value names.
    pub fn key_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(4, ':');
        (parts.next() == Some(VERSION)).then(|| parts.next())?
    }

    /// Opens a sealed value of `field` for `meter_id`; an error when it was altered, moved or its key
    /// is missing (the error never holds the value).
    pub fn open(&self, meter_id: &str, field: Field, sealed: &str) -> Result<String, ControlError> {
        let bad = |why: &str| {
            ControlError::Corrupt(format!(
                "personal-data field {} of {meter_id} does not open: {why}",
                field.as_str()
            ))
        };
        let parts: Vec<&str> = sealed.splitn(4, ':').collect();
        let [version, key_id, nonce, body] = parts[..] else {
            return Err(bad("not a sealed value"));
        };
        if version != VERSION {
            return Err(bad("unknown version"));
        }
        let nonce = hex::decode(nonce).map_err(|_| bad("bad nonce"))?;
        let body = hex::decode(body).map_err(|_| bad("bad ciphertext"))?;
        if nonce.len() != 12 {
            return Err(bad("bad nonce"));
        }
        let aad = Self::associated(meter_id, field);
        let plain = self
            .cipher(key_id)
            .map_err(|_| bad("its key is not in the ring"))?
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &body,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| bad("authentication failed"))?;
        String::from_utf8(plain).map_err(|_| bad("not UTF-8"))
    }

    /// The keyed hash of `value` of `field` under the active key (stored for search).
    pub fn search_hash(&self, field: Field, value: &str) -> Result<String, ControlError> {
        self.search_hash_with(self.ring.active_id(), field, value)
    }

    fn search_hash_with(
        &self,
        key_id: &str,
        field: Field,
        value: &str,
    ) -> Result<String, ControlError> {
        let key = hex::encode(derive(&self.ring, key_id, "meterlake pii search v1")?);
        let single = KeyRing::single(key_id, key.as_bytes())
            .map_err(|e| ControlError::Corrupt(e.to_string()))?;
        let data = format!("{}|{}", field.as_str(), field.normalise(value));
        single
            .mac_with(key_id, data.as_bytes())
            .map_err(|e| ControlError::Corrupt(e.to_string()))
    }

    /// The keyed hashes `value` may be stored under: one per key of the ring (rows sealed before a
    /// rotation finished carry an older key's hash).
    pub fn search_hashes(&self, field: Field, value: &str) -> Result<Vec<String>, ControlError> {
        self.ring
            .ids()
            .map(|id| self.search_hash_with(id, field, value))
            .collect()
    }

    /// The active key's (id, footer key, column key) for encrypted Parquet exports.
    pub fn parquet_keys(&self) -> Result<(String, Vec<u8>, Vec<u8>), ControlError> {
        self.parquet_keys_of(self.ring.active_id())
    }

    /// Key `key_id`'s (id, footer key, column key) for encrypted Parquet exports (AES keys of 16 bytes).
    pub fn parquet_keys_of(
        &self,
        key_id: &str,
    ) -> Result<(String, Vec<u8>, Vec<u8>), ControlError> {
        let footer = derive(&self.ring, key_id, "meterlake pii parquet footer v1")?[..16].to_vec();
        let column = derive(&self.ring, key_id, "meterlake pii parquet column v1")?[..16].to_vec();
        Ok((key_id.to_string(), footer, column))
    }
}

/// Shows a value's shape only: a long value its first three and last four characters (a phone
/// `138****5678`), a shorter one its first and last, two characters or fewer nothing.
pub fn masked(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        0..=2 => (0, 0),
        3..=10 => (1, 1),
        _ => (3, 4),
    };
    let shown = |range: std::ops::Range<usize>| chars[range].iter().collect::<String>();
    format!(
        "{}{}{}",
        shown(0..head),
        "*".repeat(n - head - tail),
        shown(n - tail..n)
    )
}

/// A ring of keys `(id, byte)` (each key 32 copies of its byte), for tests.
#[cfg(test)]
pub(crate) fn test_ring(ids: &[(&str, u8)]) -> PiiKeys {
    let dir = tempfile::tempdir().unwrap();
    for (id, byte) in ids {
        std::fs::write(
            dir.path().join(format!("{id}.key")),
            hex::encode([*byte; 32]),
        )
        .unwrap();
    }
    PiiKeys::new(KeyRing::load(dir.path(), None).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ids: &[(&str, u8)]) -> PiiKeys {
        test_ring(ids)
    }

    #[test]
    fn sealed_values_open_only_for_their_meter_and_field_and_hide_the_value() {
        let k = keys(&[("k1", 1)]);
        let sealed = k.seal("000000001001", Field::Phone, "13812345678").unwrap();
        assert!(!sealed.contains("13812345678"));
        assert_eq!(PiiKeys::key_of(&sealed), Some("k1"));
        assert_eq!(
            k.open("000000001001", Field::Phone, &sealed).unwrap(),
            "13812345678"
        );
        assert_ne!(
            sealed,
            k.seal("000000001001", Field::Phone, "13812345678").unwrap()
        );
        let moved = k.open("000000001002", Field::Phone, &sealed).unwrap_err();
        assert!(!moved.to_string().contains("1381"));
        assert!(k.open("000000001001", Field::Name, &sealed).is_err());
        let mut altered = sealed.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == '0' { '1' } else { '0' });
        assert!(k.open("000000001001", Field::Phone, &altered).is_err());
    }

    #[test]
    fn a_rotated_ring_opens_old_values_and_finds_them_by_either_hash() {
        let old = keys(&[("k1", 1)]);
        let sealed = old
            .seal("m", Field::IdNumber, "11010519491231002x")
            .unwrap();
        let stored_hash = old
            .search_hash(Field::IdNumber, "110105 19491231002X")
            .unwrap();
        let both = keys(&[("k1", 1), ("k2", 2)]);
        assert_eq!(both.active_id(), "k2");
        assert_eq!(
            both.open("m", Field::IdNumber, &sealed).unwrap(),
            "11010519491231002x"
        );
        let hashes = both
            .search_hashes(Field::IdNumber, "11010519491231002X")
            .unwrap();
        assert_eq!(hashes.len(), 2);
        assert!(hashes.contains(&stored_hash));
        let only_new = keys(&[("k2", 2)]);
        assert!(only_new.open("m", Field::IdNumber, &sealed).is_err());
    }

    #[test]
    fn phones_are_searched_by_digits_and_values_are_masked() {
        let k = keys(&[("k1", 1)]);
        assert_eq!(
            k.search_hash(Field::Phone, "138-1234-5678").unwrap(),
            k.search_hash(Field::Phone, "13812345678").unwrap()
        );
        assert_eq!(masked("13812345678"), "138****5678");
        assert_eq!(masked("张三"), "**");
        assert_eq!(masked(""), "");
    }
}

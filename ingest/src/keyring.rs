//! Keys for HMAC-SHA256: a directory of `<id>.key` files (64 or more hex digits each). The newest id
//! (greatest by name, so date-named ids rotate naturally) signs unless one is named; every key in the
//! ring verifies, so a message signed under the previous key still checks while it is in flight.
//!
//! Rotation: write a new key with [`KeyRing::generate`] (`meterlake keys new`), copy it to every
//! service that verifies, then to the ones that sign, and restart them; remove the old file once nothing
//! signed under it can still arrive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Fewest bytes a key may have.
pub const MIN_KEY_BYTES: usize = 32;

/// What went wrong with keys or a signature.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key directory or a key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// Which file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file does not hold a usable key.
    #[error("key file {path}: {why}")]
    Bad {
        /// Which file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The directory has no key.
    #[error("no *.key file in {0}")]
    Empty(PathBuf),
    /// A message names a key this ring does not have.
    #[error("unknown key id {0:?}")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
}

/// One key's bytes. `Debug` shows only their length.
#[derive(Clone, PartialEq, Eq)]
struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} secret bytes>", self.0.len())
    }
}

/// Named HMAC keys, one of them active for signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRing {
    keys: BTreeMap<String, Secret>,
    active: String,
}

impl KeyRing {
    /// A ring of one key (tests, or a key handed over in memory).
    pub fn single(id: &str, key: &[u8]) -> Result<Self, KeyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::Bad {
                path: PathBuf::from(id),
                why: format!("{} bytes; at least {MIN_KEY_BYTES} needed", key.len()),
            });
        }
        Ok(Self {
            keys: BTreeMap::from([(id.to_string(), Secret(key.to_vec()))]),
            active: id.to_string(),
        })
    }

    /// Loads every `*.key` in `dir`; `active` names the signing key, else the greatest id signs.
    pub fn load(dir: &Path, active: Option<&str>) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut keys = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("key") {
                continue;
            }
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
            let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Bad {
                path: path.clone(),
                why: "not hex digits".into(),
            })?;
            if bytes.len() < MIN_KEY_BYTES {
                return Err(KeyError::Bad {
                    path,
                    why: format!("{} bytes; at least {MIN_KEY_BYTES} needed", bytes.len()),
                });
            }
            keys.insert(id.to_string(), Secret(bytes));
        }
        let active = match active {
            Some(id) if keys.contains_key(id) => id.to_string(),
            Some(id) => return Err(KeyError::UnknownKey(id.to_string())),
            None => keys
                .keys()
                .next_back()
                .cloned()
                .ok_or_else(|| KeyError::Empty(dir.to_path_buf()))?,
        };
        Ok(Self { keys, active })
    }

    /// Writes a new random 32-byte key `<dir>/<id>.key` (owner-only permissions) and returns its path.
    /// An existing file is never overwritten.
    pub fn generate(dir: &Path, id: &str) -> Result<PathBuf, KeyError> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(KeyError::Bad {
                path: dir.join(id),
                why: "a key id is letters, digits, '-' and '_'".into(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(format!("{id}.key"));
        let mut key = [0_u8; MIN_KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io)?;
        std::io::Write::write_all(&mut file, hex::encode(key).as_bytes()).map_err(io)?;
        Ok(path)
    }

    /// Loads the ring from `dir`, first generating key `first_id` there if the directory has no key.
    pub fn load_or_generate(dir: &Path, first_id: &str) -> Result<Self, KeyError> {
        let has_key = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().extension().and_then(|x| x.to_str()) == Some("key"))
            })
            .unwrap_or(false);
        if !has_key {
            Self::generate(dir, first_id)?;
        }
        Self::load(dir, None)
    }

    /// The signing key's id.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// The ids of every key.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    fn hmac(&self, key_id: &str) -> Result<HmacSha256, KeyError> {
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| KeyError::UnknownKey(key_id.to_string()))?;
        HmacSha256::new_from_slice(&key.0).map_err(|_| KeyError::BadSignature)
    }

    /// HMAC-SHA256 of `data` under the active key: (key id, hex tag).
    pub fn sign(&self, data: &[u8]) -> (String, String) {
        let tag = self
            .mac_with(&self.active, data)
            .unwrap_or_else(|_| String::new());
        (self.active.clone(), tag)
    }

    /// HMAC-SHA256 of `data` under key `key_id`, in hex.
    pub fn mac_with(&self, key_id: &str, data: &[u8]) -> Result<String, KeyError> {
        let mut mac = self.hmac(key_id)?;
        mac.update(data);
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    /// Checks a hex tag over `data` under `key_id` (in constant time).
    pub fn verify(&self, key_id: &str, data: &[u8], tag_hex: &str) -> Result<(), KeyError> {
        let tag = hex::decode(tag_hex).map_err(|_| KeyError::BadSignature)?;
        let mut mac = self.hmac(key_id)?;
        mac.update(data);
        mac.verify_slice(&tag).map_err(|_| KeyError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_data_verifies_and_any_change_is_refused() {
        let ring = KeyRing::single("k1", &[7; 32]).unwrap();
        let (id, tag) = ring.sign(b"trip 000000000001");
        assert_eq!(id, "k1");
        ring.verify(&id, b"trip 000000000001", &tag).unwrap();
        assert!(matches!(
            ring.verify(&id, b"trip 000000000002", &tag),
            Err(KeyError::BadSignature)
        ));
        assert!(matches!(
            ring.verify("k2", b"trip 000000000001", &tag),
            Err(KeyError::UnknownKey(_))
        ));
        assert!(matches!(
            ring.verify(&id, b"trip 000000000001", "zz"),
            Err(KeyError::BadSignature)
        ));
        assert!(!format!("{ring:?}").contains("0707"));
    }

    #[test]
    fn directories_rotate_to_the_newest_key_and_keep_the_old_for_checking() {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::generate(dir.path(), "2026-01").unwrap();
        let old = KeyRing::load(dir.path(), None).unwrap();
        let (old_id, old_tag) = old.sign(b"x");
        KeyRing::generate(dir.path(), "2026-02").unwrap();
        let ring = KeyRing::load(dir.path(), None).unwrap();
        assert_eq!(ring.active_id(), "2026-02");
        ring.verify(&old_id, b"x", &old_tag).unwrap();
        assert!(KeyRing::generate(dir.path(), "2026-02").is_err());
        assert!(KeyRing::generate(dir.path(), "../x").is_err());
        std::fs::write(dir.path().join("short.key"), "abcd").unwrap();
        assert!(matches!(
            KeyRing::load(dir.path(), None),
            Err(KeyError::Bad { .. })
        ));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            KeyRing::load(empty.path(), None),
            Err(KeyError::Empty(_))
        ));
    }
}

//! `CHRONICLE_SECRET`, the root of every key Chronicle derives (credential sealing now, signing
//! later): read from the environment, or generated once and kept in the data directory. Keys
//! are derived from it with HKDF-SHA256, one per purpose, so no two features share a key.

use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use std::path::Path;
use std::sync::Arc;

/// The root secret. Never logged: `Debug` shows nothing of it.
#[derive(Clone)]
pub struct RootSecret(Arc<[u8]>);

impl std::fmt::Debug for RootSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootSecret(…)")
    }
}

impl RootSecret {
    pub fn new(bytes: &[u8]) -> RootSecret {
        RootSecret(bytes.into())
    }

    /// A fresh random secret (tests, and the first start without `CHRONICLE_SECRET`).
    pub fn random() -> RootSecret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        RootSecret::new(hex::encode(bytes).as_bytes())
    }

    /// The 32-byte key for `purpose` (e.g. `"credentials v1"`).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"chronicle"), &self.0).expand(purpose.as_bytes(), &mut key).expect("32 bytes is a valid HKDF length");
        key
    }
}

/// `CHRONICLE_SECRET` if set; otherwise the secret kept in `data_dir/secret`, created on
/// first start (with a warning: several instances must share one secret, so set it).
pub fn load_or_create(from_env: Option<&str>, data_dir: &Path) -> Result<RootSecret, String> {
    if let Some(secret) = from_env {
        if secret.len() < 16 {
            return Err("CHRONICLE_SECRET must be at least 16 characters".into());
        }
        return Ok(RootSecret::new(secret.as_bytes()));
    }
    let path = data_dir.join("secret");
    match std::fs::read_to_string(&path) {
        Ok(kept) if kept.trim().len() >= 16 => return Ok(RootSecret::new(kept.trim().as_bytes())),
        Ok(_) => return Err(format!("{} is too short to be a secret; delete it or set CHRONICLE_SECRET", path.display())),
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(format!("cannot read {}: {err}", path.display())),
        Err(_) => {}
    }
    let secret = RootSecret::random();
    write_private(&path, &secret.0).map_err(|e| format!("cannot keep a generated secret in {}: {e}", path.display()))?;
    tracing::warn!(path = %path.display(), "CHRONICLE_SECRET is not set: generated one and kept it in the data directory; set CHRONICLE_SECRET (the same on every instance) in production");
    Ok(secret)
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = std::env::temp_dir().join(format!("chronicle-secret-{}", crate::backend::db::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = load_or_create(None, &dir).unwrap();
        let again = load_or_create(None, &dir).unwrap();
        assert_eq!(first.derive("x"), again.derive("x"));
        assert_ne!(first.derive("x"), first.derive("y"), "one key per purpose");
        let given = load_or_create(Some("a-secret-of-enough-length"), &dir).unwrap();
        assert_ne!(given.derive("x"), first.derive("x"));
        assert!(load_or_create(Some("short"), &dir).is_err());
        assert_eq!(format!("{first:?}"), "RootSecret(…)");
    }
}

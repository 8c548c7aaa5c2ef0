//! The Ed25519 key that signs checkpoints: from `CHRONICLE_SIGNING_KEY` (the 32-byte seed, hex
//! or base64), else generated once into the data directory (`signing.key`, owner-only). Never
//! in the database, so whoever can edit the trail there cannot sign a new history.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::path::Path;

#[derive(Clone)]
pub struct CheckpointSigner {
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointSigner({})", self.key_id())
    }
}

impl CheckpointSigner {
    pub fn from_seed(seed: [u8; 32]) -> CheckpointSigner {
        CheckpointSigner { key: SigningKey::from_bytes(&seed) }
    }

    pub fn random() -> CheckpointSigner {
        CheckpointSigner { key: SigningKey::generate(&mut rand::rngs::OsRng) }
    }

    /// `CHRONICLE_SIGNING_KEY`, else the data directory's key (created on first start).
    pub fn load_or_create(from_env: Option<&str>, data_dir: &Path) -> Result<CheckpointSigner, String> {
        if let Some(text) = from_env {
            return parse_seed(text).map(CheckpointSigner::from_seed).ok_or_else(|| "CHRONICLE_SIGNING_KEY must be a 32-byte Ed25519 seed, hex or base64".to_owned());
        }
        let path = data_dir.join("signing.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => parse_seed(&text).map(CheckpointSigner::from_seed).ok_or_else(|| format!("{} does not hold a 32-byte Ed25519 seed", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let signer = CheckpointSigner::random();
                super::super::secret::write_private(&path, hex::encode(signer.key.to_bytes()).as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                tracing::warn!(path = %path.display(), "generated the audit checkpoint signing key; keep it (and back it up) outside the database");
                Ok(signer)
            }
            Err(err) => Err(format!("cannot read {}: {err}", path.display())),
        }
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The first 16 hex digits of SHA-256 of the public key.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.public_key().as_bytes()))[..16].to_owned()
    }

    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.public_key().as_bytes())
    }

    pub fn public_key_pem(&self) -> String {
        self.public_key().to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// Base64 of the signature of `message`.
    pub fn sign(&self, message: &str) -> String {
        STANDARD.encode(self.key.sign(message.as_bytes()).to_bytes())
    }

    pub fn verify(&self, message: &str, signature: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature) else { return false };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else { return false };
        self.public_key().verify(message.as_bytes(), &signature).is_ok()
    }
}

fn parse_seed(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = hex::decode(text).ok().or_else(|| STANDARD.decode(text).ok())?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_load_sign_and_verify() {
        let signer = CheckpointSigner::from_seed([7; 32]);
        let again = CheckpointSigner::load_or_create(Some(&hex::encode([7u8; 32])), Path::new("/nonexistent")).unwrap();
        assert_eq!(signer.key_id(), again.key_id());
        let b64 = CheckpointSigner::load_or_create(Some(&STANDARD.encode([7u8; 32])), Path::new("/nonexistent")).unwrap();
        assert_eq!(signer.key_id(), b64.key_id());
        assert!(CheckpointSigner::load_or_create(Some("short"), Path::new("/nonexistent")).is_err());
        let sig = signer.sign("message");
        assert!(signer.verify("message", &sig));
        assert!(!signer.verify("messagE", &sig));
        assert!(signer.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(STANDARD.decode(signer.public_key_base64()).unwrap().len(), 32);
    }
}

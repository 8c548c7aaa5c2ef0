//! The secret of a key, pure: `prefix + 43 base62 chars (256 random bits) + 6 base62 chars of
//! CRC32`, so a scanner can tell a real key from noise offline; its SHA-256 (what is stored)
//! and its display (`chr_org_…a1b2`). API keys and webhook keys use it.

use rand::Rng;
use sha2::{Digest, Sha256};

pub const ORG_PREFIX: &str = "chr_org_";
pub const PERSONAL_PREFIX: &str = "chr_pat_";
pub const WEBHOOK_PREFIX: &str = "whk_";
const PREFIXES: [&str; 3] = [ORG_PREFIX, PERSONAL_PREFIX, WEBHOOK_PREFIX];
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LEN: usize = 43; // 62^43 > 2^256
const CHECKSUM_LEN: usize = 6; // 62^6 > 2^32
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn base62(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).expect("base62 is ASCII")
}

fn checksum(prefix_and_body: &str) -> String {
    base62(u64::from(CRC32.checksum(prefix_and_body.as_bytes())), CHECKSUM_LEN)
}

/// A fresh secret for `prefix`.
pub fn generate_secret(prefix: &str) -> String {
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..BODY_LEN).map(|_| BASE62[rng.gen_range(0..62)] as char).collect();
    let head = format!("{prefix}{body}");
    let sum = checksum(&head);
    format!("{head}{sum}")
}

/// Whether `secret` has a key's shape and a matching checksum: what a secret scanner checks.
pub fn well_formed(secret: &str) -> bool {
    let Some(rest) = PREFIXES.iter().find_map(|p| secret.strip_prefix(p)) else { return false };
    if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (head, sum) = secret.split_at(secret.len() - CHECKSUM_LEN);
    checksum(head) == sum
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `chr_org_…a1b2`: enough to recognise a key, useless to an attacker.
pub fn display_of(prefix: &str, secret: &str) -> String {
    format!("{prefix}…{}", &secret[secret.len() - 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_checksummed() {
        let a = generate_secret(ORG_PREFIX);
        let b = generate_secret(PERSONAL_PREFIX);
        assert!(well_formed(&generate_secret(WEBHOOK_PREFIX)));
        assert!(a.starts_with("chr_org_") && b.starts_with("chr_pat_"));
        assert_eq!(a.len(), ORG_PREFIX.len() + 49);
        assert_ne!(a[8..], b[8..]);
        assert!(well_formed(&a) && well_formed(&b));
        // One changed character breaks the checksum: a scanner tells a real key from noise.
        let mut typo = a.clone().into_bytes();
        typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
        assert!(!well_formed(&String::from_utf8(typo).unwrap()));
        assert!(!well_formed("chr_org_short"));
        assert!(!well_formed(&a.replace("chr_org_", "xyz_org_")));
    }

    #[test]
    fn display_shows_prefix_and_last_four_only() {
        let s = generate_secret(ORG_PREFIX);
        let d = display_of(ORG_PREFIX, &s);
        assert_eq!(d, format!("chr_org_…{}", &s[s.len() - 4..]));
    }
}

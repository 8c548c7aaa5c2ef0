//! The hash chain, as anyone can recompute it from the JSON Lines export:
//! `hash = hex(SHA-256(prev_hash + "\n" + JCS(event)))`, where `event` is the exported JSON
//! object without `hash` and `prev_hash`, and JCS is RFC 8785 canonical JSON. A chain's first
//! `prev_hash` is 64 zeros. Checkpoints sign JCS({org_id, seq, hash, created_at}) with Ed25519.

use crate::model::AuditEvent;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain an event belongs to: its org, or `""` for events outside any org.
pub fn chain_of(event: &AuditEvent) -> &str {
    event.org_id.as_deref().unwrap_or("")
}

/// RFC 8785 canonical JSON of the event as exported, without its hashes.
pub fn canonical(event: &AuditEvent) -> String {
    let mut value = serde_json::to_value(event).expect("an event serialises");
    if let Value::Object(map) = &mut value {
        map.remove("hash");
        map.remove("prev_hash");
    }
    serde_json_canonicalizer::to_string(&value).expect("JSON values canonicalise")
}

pub fn hash(prev_hash: &str, event: &AuditEvent) -> String {
    let mut digest = Sha256::new();
    digest.update(prev_hash.as_bytes());
    digest.update(b"\n");
    digest.update(canonical(event).as_bytes());
    hex::encode(digest.finalize())
}

/// What a checkpoint signs.
pub fn checkpoint_message(org_id: Option<&str>, seq: i64, hash: &str, created_at: &str) -> String {
    serde_json_canonicalizer::to_string(&json!({ "org_id": org_id, "seq": seq, "hash": hash, "created_at": created_at })).expect("JSON values canonicalise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, AuditResource};

    fn event(metadata: Value) -> AuditEvent {
        AuditEvent {
            id: "01a2".into(),
            org_id: Some("org".into()),
            action: "auth.login".into(),
            actor: Actor { kind: "user".into(), id: Some("u".into()), label: "Ada".into(), name: Some("Ada".into()), email: None },
            resource: AuditResource { kind: "user".into(), id: Some("u".into()) },
            changes: vec![],
            metadata,
            ip: None,
            user_agent: None,
            created_at: "2026-11-26T10:00:00.000000Z".into(),
            seq: Some(7),
            prev_hash: Some("ignored".into()),
            hash: Some("ignored".into()),
        }
    }

    #[test]
    fn the_canonical_form_sorts_keys_and_leaves_the_hashes_out() {
        let c = canonical(&event(json!({ "z": 1, "a": [1.5, "é"] })));
        assert!(c.starts_with(r#"{"action":"auth.login","actor":{"email":null,"id":"u","label":"Ada","name":"Ada","type":"user"},"changes":[],"created_at":"#), "{c}");
        assert!(c.contains(r#""metadata":{"a":[1.5,"é"],"z":1}"#), "{c}");
        assert!(c.ends_with(r#""seq":7,"user_agent":null}"#), "{c}");
        assert!(!c.contains("ignored"));
        let h = hash(GENESIS, &event(json!({})));
        assert_eq!(h.len(), 64);
        assert_ne!(h, hash(GENESIS, &event(json!({ "x": 1 }))), "any change changes the hash");
    }
}

//! Tracking codes: `base64url(payload JSON) "." base64url(HMAC-SHA256(key, payload part)[..16])`.
//! Signed with the first key, verified against each in constant time (rotation is a config
//! change). A code without a `.` is a legacy unsigned one: its payload is read only while
//! `CHRONICLE_TRACKING_ACCEPT_UNSIGNED` allows, and it proves nothing on its own.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longer codes are refused unread (a real one is a few hundred bytes, the link included).
pub const MAX_CODE_LEN: usize = 4096;
const TAG_LEN: usize = 16;

/// What a code carries: org, workflow, execution, message, distinct id, and (clicks) the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub o: String,
    #[serde(default)]
    pub w: String,
    #[serde(default)]
    pub x: String,
    pub m: String,
    #[serde(default)]
    pub d: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
}

/// How a code read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Signed(Payload),
    Unsigned(Payload),
    Invalid,
}

impl Read {
    /// The `format` label of `chronicle_tracking_code_format_total`.
    pub fn format(&self) -> &'static str {
        match self {
            Read::Signed(_) => "signed",
            Read::Unsigned(_) => "unsigned",
            Read::Invalid => "invalid",
        }
    }
}

/// The signing keys: the first signs, every one verifies.
#[derive(Clone)]
pub struct Keys {
    keys: Vec<Hmac<Sha256>>,
    pub accept_unsigned: bool,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({} keys, accept_unsigned: {})", self.keys.len(), self.accept_unsigned)
    }
}

impl Keys {
    /// Each key as its UTF-8 bytes. At least one key is needed.
    pub fn new<K: AsRef<[u8]>>(keys: &[K], accept_unsigned: bool) -> Keys {
        assert!(!keys.is_empty(), "tracking needs a key");
        let keys = keys.iter().map(|k| Hmac::<Sha256>::new_from_slice(k.as_ref()).expect("HMAC takes keys of any length")).collect();
        Keys { keys, accept_unsigned }
    }

    pub fn sign(&self, payload: &Payload) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("a payload of strings serialises"));
        let mut mac = self.keys[0].clone();
        mac.update(body.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]))
    }

    /// Reads a code; never panics, whatever the input.
    pub fn read(&self, code: &str) -> Read {
        if code.len() > MAX_CODE_LEN {
            return Read::Invalid;
        }
        match code.split_once('.') {
            Some((body, tag)) => {
                let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else { return Read::Invalid };
                if tag.len() != TAG_LEN {
                    return Read::Invalid;
                }
                // `verify_truncated_left` compares in constant time.
                let known = self.keys.iter().any(|key| {
                    let mut mac = key.clone();
                    mac.update(body.as_bytes());
                    mac.verify_truncated_left(&tag).is_ok()
                });
                if !known {
                    return Read::Invalid;
                }
                URL_SAFE_NO_PAD.decode(body).ok().and_then(|json| parse(&json)).map_or(Read::Invalid, Read::Signed)
            }
            None if self.accept_unsigned => {
                // Legacy codes were plain base64 of one flavour or another.
                let bytes = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD].iter().find_map(|e| e.decode(code).ok());
                bytes.and_then(|json| parse(&json)).map_or(Read::Invalid, Read::Unsigned)
            }
            None => Read::Invalid,
        }
    }
}

fn parse(json: &[u8]) -> Option<Payload> {
    let payload: Payload = serde_json::from_slice(json).ok()?;
    let ok = [&payload.o, &payload.m].iter().all(|v| !v.is_empty()) && payload.u.as_deref().is_none_or(is_web_url);
    ok.then_some(payload)
}

/// Only http(s) targets are ever redirected to.
pub fn is_web_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://")) && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(u: Option<&str>) -> Payload {
        Payload { o: "org".into(), w: "wf".into(), x: "ex".into(), m: "msg".into(), d: "0".into(), u: u.map(Into::into) }
    }

    #[test]
    fn codes_are_signed_as_spec_says() {
        let keys = Keys::new(&["k1"], true);
        let code = keys.sign(&payload(None));
        let (body, tag) = code.split_once('.').unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap(), br#"{"o":"org","w":"wf","x":"ex","m":"msg","d":"0"}"#);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k1").unwrap();
        mac.update(body.as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(tag).unwrap(), mac.finalize().into_bytes()[..16]);
        assert_eq!(keys.read(&code), Read::Signed(payload(None)));
    }

    #[test]
    fn rotation_verifies_old_keys_and_refuses_unknown_ones() {
        let old = Keys::new(&["old"], true).sign(&payload(Some("https://example.com/a")));
        let rotated = Keys::new(&["new", "old"], true);
        assert_eq!(rotated.read(&old), Read::Signed(payload(Some("https://example.com/a"))));
        assert!(rotated.sign(&payload(None)) != Keys::new(&["old"], true).sign(&payload(None)), "the first key signs");
        assert_eq!(Keys::new(&["other"], true).read(&old), Read::Invalid);
    }

    #[test]
    fn tampering_and_garbage_are_invalid() {
        let keys = Keys::new(&["k"], true);
        let code = keys.sign(&payload(Some("https://example.com/")));
        let (body, tag) = code.split_once('.').unwrap();
        let evil = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload(Some("https://evil.example/"))).unwrap());
        for bad in [
            format!("{evil}.{tag}"),
            format!("{body}.{}", &tag[..tag.len() - 2]),
            format!("{body}."),
            format!("{body}.!!!!"),
            format!("{}.{tag}", "A".repeat(MAX_CODE_LEN)),
            ".".into(),
            "".into(),
            "%%%".into(),
            URL_SAFE_NO_PAD.encode(br#"{"o":"org"}"#),
            URL_SAFE_NO_PAD.encode(b"[1,2]"),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload(Some("javascript:alert(1)"))).unwrap()),
        ] {
            assert_eq!(keys.read(&bad), Read::Invalid, "{bad}");
        }
    }

    #[test]
    fn legacy_unsigned_codes_are_read_only_while_allowed() {
        let legacy = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload(None)).unwrap());
        assert_eq!(Keys::new(&["k"], true).read(&legacy), Read::Unsigned(payload(None)));
        assert_eq!(Keys::new(&["k"], true).read(&STANDARD.encode(serde_json::to_vec(&payload(None)).unwrap())), Read::Unsigned(payload(None)));
        assert_eq!(Keys::new(&["k"], false).read(&legacy), Read::Invalid);
    }
}

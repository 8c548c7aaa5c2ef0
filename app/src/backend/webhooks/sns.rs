//! Amazon SNS message verification, as AWS documents it: the envelope's string-to-sign
//! (fields in a fixed order, by message type), SignatureVersion 1 (SHA1withRSA) or 2
//! (SHA256withRSA), the certificate from `SigningCertURL` only on
//! `https://sns.<region>.amazonaws.com/…` (fetched once, cached) — or, when pinned PEMs are
//! configured, only those (nothing fetched). Topic allowlist and the 1-hour staleness rule
//! come after the signature, so nothing unsigned is ever looked at. [`verify`] is pure (the
//! keys and the time are given); [`Verifier`] finds the keys.

use super::Refusal;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier as _;
use rsa::RsaPublicKey;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// Notifications older than this are refused (replays of old captures)…
pub const MAX_AGE: chrono::Duration = chrono::Duration::hours(1);
/// …and so are those dated further ahead than clocks drift.
pub const MAX_AHEAD: chrono::Duration = chrono::Duration::minutes(5);
/// How long a failed certificate fetch is remembered: a flood of bad URLs costs one fetch each
/// per minute, not one per request.
const FAILED_FETCH_KEPT: Duration = Duration::from_secs(60);
const MAX_CERT_BYTES: usize = 64 * 1024;

/// A verified envelope's fields.
#[derive(Debug, Clone)]
pub struct Envelope(Map<String, Value>);

impl Envelope {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
}

pub struct Verifier {
    pinned: Option<Vec<RsaPublicKey>>,
    topics: Vec<String>,
    /// Certificates by URL without query or fragment (so a query cannot make each request a
    /// fetch), and failed fetches with when they failed.
    fetched: Mutex<HashMap<String, Result<RsaPublicKey, (String, std::time::Instant)>>>,
    http: reqwest::Client,
}

/// The keys of the pinned certificate files (`CHRONICLE_SNS_CERTS`); a file that is not one
/// is a start-up error.
pub fn load_pinned(paths: &[PathBuf]) -> Result<Vec<RsaPublicKey>, String> {
    let mut keys = Vec::new();
    for path in paths {
        let pem = std::fs::read(path).map_err(|e| format!("CHRONICLE_SNS_CERTS: cannot read {}: {e}", path.display()))?;
        let found = keys_of_pem(&pem).map_err(|e| format!("CHRONICLE_SNS_CERTS: {}: {e}", path.display()))?;
        if found.is_empty() {
            return Err(format!("CHRONICLE_SNS_CERTS: {} holds no certificate", path.display()));
        }
        keys.extend(found);
    }
    Ok(keys)
}

impl Verifier {
    /// `pinned` empty: certificates are fetched from their (checked) URL.
    pub fn new(pinned: Vec<RsaPublicKey>, topics: Vec<String>) -> Verifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Verifier { pinned: (!pinned.is_empty()).then_some(pinned), topics, fetched: Mutex::new(HashMap::new()), http }
    }

    /// Verifies `body` at `now` with the pinned keys, or the certificate its (checked)
    /// `SigningCertURL` names, fetched once.
    pub async fn verify(&self, body: &[u8], now: chrono::DateTime<chrono::Utc>) -> Result<Envelope, Refusal> {
        let envelope = parse(body)?;
        let keys = match &self.pinned {
            Some(keys) => keys.clone(),
            None => {
                let url = envelope.field("SigningCertURL").unwrap_or_default();
                if !is_sns_cert_url(url) {
                    return Err(Refusal::Invalid(BAD_CERT_URL.into()));
                }
                vec![self.fetch(url).await.map_err(Refusal::Invalid)?]
            }
        };
        verify(body, &keys, &self.topics, now)
    }

    async fn fetch(&self, url: &str) -> Result<RsaPublicKey, String> {
        let key = cache_key(url);
        match self.fetched.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            Some(Ok(cert)) => return Ok(cert.clone()),
            Some(Err((why, at))) if at.elapsed() < FAILED_FETCH_KEPT => return Err(why.clone()),
            _ => {}
        }
        let fetched = self.download(&key).await;
        let kept = fetched.clone().map_err(|why| (why, std::time::Instant::now()));
        self.fetched.lock().unwrap_or_else(|e| e.into_inner()).insert(key, kept);
        fetched
    }

    async fn download(&self, url: &str) -> Result<RsaPublicKey, String> {
        let response = self.http.get(url).send().await.map_err(|e| format!("could not fetch the signing certificate: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the signing certificate URL answered {}", response.status()));
        }
        let pem = response.bytes().await.map_err(|e| format!("could not read the signing certificate: {e}"))?;
        if pem.len() > MAX_CERT_BYTES {
            return Err("the signing certificate is too large".into());
        }
        keys_of_pem(&pem)?.into_iter().next().ok_or_else(|| "no certificate at the signing certificate URL".to_owned())
    }
}

const BAD_CERT_URL: &str = "SigningCertURL must be https://sns.<region>.amazonaws.com/….pem";

/// The envelope's fields, if it is one.
fn parse(body: &[u8]) -> Result<Envelope, Refusal> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else { return Err(Refusal::NotEnvelope) };
    let envelope = Envelope(fields);
    if ["Type", "Signature", "SigningCertURL"].iter().any(|f| envelope.field(f).is_none()) {
        return Err(Refusal::NotEnvelope);
    }
    Ok(envelope)
}

/// Verifies an SNS envelope as AWS documents it, signed by one of `keys`, at `now`: the
/// signature first, then the topic (`topics` empty: any) and the time.
pub fn verify(body: &[u8], keys: &[RsaPublicKey], topics: &[String], now: chrono::DateTime<chrono::Utc>) -> Result<Envelope, Refusal> {
    let invalid = |why: &str| Refusal::Invalid(why.to_owned());
    let envelope = parse(body)?;
    let version = envelope.field("SignatureVersion").unwrap_or_default();
    if version != "1" && version != "2" {
        return Err(invalid("SignatureVersion must be \"1\" or \"2\""));
    }
    if !is_sns_cert_url(envelope.field("SigningCertURL").unwrap_or_default()) {
        return Err(invalid(BAD_CERT_URL));
    }
    let to_sign = string_to_sign(&envelope).map_err(Refusal::Invalid)?;
    let signature = STANDARD.decode(envelope.field("Signature").unwrap_or_default()).map_err(|_| invalid("Signature is not base64"))?;
    if !keys.iter().any(|key| verifies(key, version, to_sign.as_bytes(), &signature)) {
        return Err(invalid("the signature does not verify"));
    }
    if !topics.is_empty() && !topics.iter().any(|t| Some(t.as_str()) == envelope.field("TopicArn")) {
        return Err(Refusal::Topic);
    }
    let sent = envelope.field("Timestamp").and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).ok_or_else(|| invalid("Timestamp is not a time"))?;
    let age = now.signed_duration_since(sent);
    if age > MAX_AGE {
        return Err(invalid("the message is stale (Timestamp more than an hour ago)"));
    }
    if age < -MAX_AHEAD {
        return Err(invalid("the message is dated in the future (Timestamp more than 5 minutes ahead)"));
    }
    Ok(envelope)
}

/// A certificate URL as the cache knows it: without query or fragment (which SNS never uses
/// for a certificate, and which would otherwise make every request a new fetch).
fn cache_key(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// The RSA keys of the certificates (or public keys) in a PEM file.
fn keys_of_pem(pem: &[u8]) -> Result<Vec<RsaPublicKey>, String> {
    if let Ok(chain) = Certificate::load_pem_chain(pem) {
        return chain
            .iter()
            .map(|cert| {
                let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
                RsaPublicKey::from_public_key_der(&spki).map_err(|e| format!("not an RSA certificate: {e}"))
            })
            .collect();
    }
    let text = std::str::from_utf8(pem).map_err(|_| "not a PEM file".to_owned())?;
    if let Ok(key) = RsaPublicKey::from_public_key_pem(text) {
        return Ok(vec![key]);
    }
    Certificate::from_pem(pem).map(|_| Vec::new()).map_err(|e| format!("not a PEM certificate: {e}"))
}

fn verifies(key: &RsaPublicKey, version: &str, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else { return false };
    match version {
        "1" => VerifyingKey::<sha1::Sha1>::new(key.clone()).verify(message, &signature).is_ok(),
        _ => VerifyingKey::<sha2::Sha256>::new(key.clone()).verify(message, &signature).is_ok(),
    }
}

/// `https://sns.<region>.amazonaws.com[.cn]/….pem`, nothing else.
pub fn is_sns_cert_url(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else { return false };
    let host = url.host_str().unwrap_or_default();
    let region = host.strip_prefix("sns.").and_then(|h| h.strip_suffix(".amazonaws.com").or_else(|| h.strip_suffix(".amazonaws.com.cn")));
    url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && region.is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        && url.path().ends_with(".pem")
}

/// The documented string-to-sign: `name\nvalue\n` for each field in order; `Subject` only
/// when the notification has one.
pub fn string_to_sign(envelope: &Envelope) -> Result<String, String> {
    let kind = envelope.field("Type").unwrap_or_default();
    let fields: &[&str] = match kind {
        "Notification" => &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
        _ => return Err(format!("unknown SNS message Type {kind:?}")),
    };
    let mut out = String::new();
    for &name in fields {
        match envelope.0.get(name) {
            Some(Value::String(value)) => {
                out.push_str(name);
                out.push('\n');
                out.push_str(value);
                out.push('\n');
            }
            None | Some(Value::Null) if name == "Subject" => {}
            _ => return Err(format!("{name} is missing or not a string")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sns_certificate_urls_are_fetched() {
        assert!(is_sns_cert_url("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"));
        assert!(is_sns_cert_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem"));
        for bad in [
            "http://sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
            "https://user@sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com/x.txt",
            "https://s3.amazonaws.com/x.pem",
        ] {
            assert!(!is_sns_cert_url(bad), "{bad}");
        }
    }

    #[test]
    fn the_certificate_cache_ignores_query_and_fragment() {
        let base = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem";
        for variant in [base.to_owned(), format!("{base}?x=1"), format!("{base}?x=2&y=3#z"), format!("{base}#frag")] {
            assert_eq!(cache_key(&variant), base, "{variant}");
        }
    }

    /// An envelope signed (version 2) with the test fixture's key.
    fn signed(fields: Value) -> Vec<u8> {
        use rsa::signature::{SignatureEncoding, Signer};
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&fixture("sns-signing-key.pem")).unwrap();
        let mut envelope = Envelope(fields.as_object().unwrap().clone());
        envelope.0.insert("SignatureVersion".into(), "2".into());
        envelope.0.insert("SigningCertURL".into(), "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem".into());
        let signature = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key).sign(string_to_sign(&envelope).unwrap().as_bytes());
        envelope.0.insert("Signature".into(), STANDARD.encode(signature.to_bytes()).into());
        serde_json::to_vec(&envelope.0).unwrap()
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../server/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// A certificate's key, or a private key's public half.
    fn fixture_key(name: &str) -> RsaPublicKey {
        let pem = fixture(name);
        match keys_of_pem(pem.as_bytes()) {
            Ok(keys) if !keys.is_empty() => keys[0].clone(),
            _ => rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap().to_public_key(),
        }
    }

    use rsa::pkcs8::DecodePrivateKey;

    #[test]
    fn envelopes_verify_with_the_pinned_key_topic_and_clock_only() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let body = signed(serde_json::json!({"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:t", "Message": "{}", "Timestamp": "2026-12-06T10:00:00Z"}));
        let (ours, other) = (fixture_key("sns-signing-cert.pem"), fixture_key("other-key.pem"));
        assert_eq!(verify(&body, &[ours.clone()], &[], at).unwrap().field("MessageId"), Some("m1"));
        assert!(verify(&body, &[other.clone(), ours.clone()], &["arn:t".into()], at).is_ok(), "any pinned key");
        assert_eq!(verify(&body, &[other], &[], at).unwrap_err(), Refusal::Invalid("the signature does not verify".into()), "not pinned");
        assert_eq!(verify(&body, &[ours.clone()], &["arn:other".into()], at).unwrap_err(), Refusal::Topic);
        // The clock: an hour behind at most, five minutes ahead at most.
        assert!(verify(&body, &[ours.clone()], &[], at + chrono::Duration::minutes(59)).is_ok());
        assert!(matches!(verify(&body, &[ours.clone()], &[], at + chrono::Duration::minutes(61)), Err(Refusal::Invalid(why)) if why.contains("stale")));
        assert!(verify(&body, &[ours.clone()], &[], at - chrono::Duration::minutes(4)).is_ok());
        assert!(matches!(verify(&body, &[ours.clone()], &[], at - chrono::Duration::minutes(6)), Err(Refusal::Invalid(why)) if why.contains("future")));
        // Any field changed after signing: refused.
        let tampered = String::from_utf8(body.clone()).unwrap().replace("\"m1\"", "\"m2\"");
        assert!(matches!(verify(tampered.as_bytes(), &[ours.clone()], &[], at), Err(Refusal::Invalid(_))));
        assert_eq!(verify(b"{\"eventType\": \"Open\"}", &[ours], &[], at).unwrap_err(), Refusal::NotEnvelope);
    }

    #[test]
    fn string_to_sign_follows_the_documented_order() {
        let env = |v: Value| Envelope(v.as_object().unwrap().clone());
        let n = env(serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "hi", "Timestamp": "ts", "Signature": "s"}));
        assert_eq!(string_to_sign(&n).unwrap(), "Message\nhi\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n");
        let s = env(serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "hi", "Timestamp": "ts", "Subject": "S"}));
        assert!(string_to_sign(&s).unwrap().contains("MessageId\nm\nSubject\nS\nTimestamp"));
        let c = env(serde_json::json!({"Type": "SubscriptionConfirmation", "MessageId": "m", "TopicArn": "t", "Message": "hi", "Timestamp": "ts", "Token": "k", "SubscribeURL": "u"}));
        assert_eq!(string_to_sign(&c).unwrap(), "Message\nhi\nMessageId\nm\nSubscribeURL\nu\nTimestamp\nts\nToken\nk\nTopicArn\nt\nType\nSubscriptionConfirmation\n");
        assert!(string_to_sign(&env(serde_json::json!({"Type": "Notification", "MessageId": "m"}))).is_err());
    }
}

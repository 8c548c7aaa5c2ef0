//! `http_request` steps: a real request with a 10 s timeout, keeping the status and the first
//! 2 KiB of the body. Private, loopback and link-local destinations are refused (a workflow
//! must not reach the network Chronicle runs in) unless `CHRONICLE_EGRESS_ALLOW_PRIVATE=1`:
//! checked on the URL's literal address and again on every address DNS gives, in the
//! client's resolver, so a name cannot resolve to a private address between check and
//! connect. Redirects are not followed (one could point inside).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const BODY_KEPT: usize = 2048;

pub struct Request<'a> {
    pub url: &'a str,
    pub method: &'a str,
    pub body: Option<&'a str>,
    /// Sent as `Authorization: Bearer …`; never kept in the output.
    pub bearer: Option<&'a str>,
}

pub struct Response {
    pub status: u16,
    pub body: String,
    pub truncated: bool,
}

impl Response {
    pub fn to_json(&self) -> Value {
        json!({ "status": self.status, "body": self.body, "truncated": self.truncated })
    }
}

/// The client every step, stream and PostHog forward uses: its resolver refuses private
/// addresses (unless allowed), and it ignores `HTTP(S)_PROXY`: a proxy would connect for it,
/// past the address check.
pub fn client(allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(PublicOnly { allow_private }))
        .user_agent("Chronicle-Workflow/1")
        .build()
        .expect("the egress client builds")
}

/// Whether a step may connect to `ip`. An IPv6 address that carries an IPv4 one (mapped,
/// compatible, NAT64 `64:ff9b::/96`, 6to4) is judged by the IPv4 address it reaches.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => {
                let [first, second, ..] = v6.segments();
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                    || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                    || (first, second) == (0x64, 0xff9b)) // NAT64 local use 64:ff9b:1::/48 (and the rest of 64:ff9b::/32)
            }
        },
    }
}

/// The IPv4 address an IPv6 one stands for, where the form says which.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..] => Some(tail),                     // mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0, ..] if !v6.is_loopback() && !v6.is_unspecified() => Some(tail), // compatible ::a.b.c.d
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(tail),                  // NAT64 64:ff9b::/96
        [0x2002, high, low, ..] => Some(Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8)), // 6to4 2002::/16
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || a >= 240 // reserved 240.0.0.0/4, the broadcast address included
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || (a, b, c) == (192, 0, 0)) // IETF protocol assignments 192.0.0.0/24
}

fn refusal(host: &str, ip: IpAddr) -> String {
    format!("refused: {host} is a private, loopback or link-local address ({ip}); set CHRONICLE_EGRESS_ALLOW_PRIVATE=1 to allow")
}

struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                    return Err(refusal(&host, bad.ip()).into());
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Why a URL's host may not be reached, when it is a literal address (which skips the
/// resolver's check).
pub fn refused_literal(host: &str, allow_private: bool) -> Option<String> {
    let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok()?;
    (!allow_private && !is_public(ip)).then(|| refusal(host, ip))
}

/// The host a request to `url` connects to, as the client parses it (lower-case, IPv6 in
/// brackets); the error is the step's.
pub fn host_of(url: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(url.trim()).map_err(|e| format!("url: {e}"))?;
    url.host_str().map(str::to_owned).ok_or_else(|| "url: has no host".into())
}

/// Sends the request; the error is the step's, readable (never the bearer).
pub async fn send(client: &reqwest::Client, allow_private: bool, request: Request<'_>) -> Result<Response, String> {
    let url = reqwest::Url::parse(request.url).map_err(|e| format!("url: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("url: must be http:// or https://".into());
    }
    let host = url.host_str().ok_or("url: has no host")?.to_owned();
    if let Some(refused) = refused_literal(&host, allow_private) {
        return Err(refused);
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| format!("method: {:?} is not an HTTP method", request.method))?;
    let mut builder = client.request(method.clone(), url);
    if let Some(token) = request.bearer {
        builder = builder.bearer_auth(token);
    }
    if let Some(body) = request.body.filter(|b| !b.is_empty() && method != reqwest::Method::GET) {
        let kind = if serde_json::from_str::<Value>(body).is_ok() { "application/json" } else { "text/plain; charset=utf-8" };
        builder = builder.header(reqwest::header::CONTENT_TYPE, kind).body(body.to_owned());
    }
    let mut response = builder.send().await.map_err(describe)?;
    let status = response.status().as_u16();
    let mut kept = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        let room = BODY_KEPT - kept.len();
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if chunk.len() > room {
            truncated = true;
            break;
        }
    }
    let mut body = String::from_utf8_lossy(&kept).into_owned();
    // A server that echoes the request would hand the secret back: it never reaches a step.
    if let Some(token) = request.bearer.filter(|t| !t.is_empty()) {
        body = redact(&body, token);
    }
    Ok(Response { status, body, truncated })
}

/// How long a run of the secret may appear in a step's output: none of 8 characters does.
pub const REDACT_RUN: usize = 8;
const REDACTED: &str = "[redacted]";

/// `text` with every run of [`REDACT_RUN`] characters that also occurs in `secret` masked
/// (a secret shorter than that: every occurrence of it). This catches the whole secret, and
/// the part of it a cut (the 2 KiB kept) or an echo with padding leaves behind.
pub fn redact(text: &str, secret: &str) -> String {
    let secret: Vec<char> = secret.chars().collect();
    let chars: Vec<char> = text.chars().collect();
    let run = REDACT_RUN.min(secret.len());
    if run == 0 || chars.len() < run {
        return text.to_owned();
    }
    let windows: std::collections::HashSet<&[char]> = secret.windows(run).collect();
    let mut masked = vec![false; chars.len()];
    for (start, window) in chars.windows(run).enumerate() {
        if windows.contains(window) {
            masked[start..start + run].fill(true);
        }
    }
    let mut out = String::with_capacity(text.len());
    for (i, c) in chars.iter().enumerate() {
        if !masked[i] {
            out.push(*c);
        } else if i == 0 || !masked[i - 1] {
            out.push_str(REDACTED);
        }
    }
    out
}

/// A request error with its causes (the resolver's refusal is one), without the URL's query.
pub fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        let refused = [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::",
            // NAT64 (well-known prefix: judged by the IPv4 inside; local use: refused)
            "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::", "64:ff9b:1::1", "64:ff9b:1:ffff::808:808",
            // benchmarking, IETF assignments, reserved and broadcast
            "198.18.0.1", "198.19.255.255", "192.0.0.8", "240.0.0.1", "255.255.255.255",
            // IPv4-mapped, IPv4-compatible and 6to4 forms of refused IPv4 addresses
            "::ffff:198.18.0.1", "::ffff:240.0.0.1", "::10.0.0.1", "::ffff:192.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "::ffff:100.64.0.1",
            "fc00::1", "ff02::1",
        ];
        for private in refused {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1", "64:ff9b::808:808", "198.20.0.1", "198.17.255.255", "192.0.1.1", "223.255.255.1", "2002:808:808::1", "::8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    /// No 8-character run of the secret survives, wherever the echo puts it or cuts it.
    #[test]
    fn no_run_of_the_secret_survives_redaction() {
        let secret = "s3cr3t-Token-0123456789-abcdef";
        let leaks = |out: &str| secret.chars().collect::<Vec<_>>().windows(REDACT_RUN).any(|w| out.contains(&w.iter().collect::<String>()));
        for padding in 0..40 {
            let echoed = format!("{}Authorization: Bearer {secret}\r\nmore", "x".repeat(BODY_KEPT - 30 + padding));
            let kept: String = echoed.chars().take(BODY_KEPT).collect();
            let out = redact(&kept, secret);
            assert!(!leaks(&out), "padding {padding}: {out}");
        }
        assert_eq!(redact("a Bearer s3cr3t-Token-0123456789-abcdef b", secret), "a Bearer [redacted] b");
        assert_eq!(redact("tail: 0123456789-ab", secret), "tail: [redacted]", "a fragment of the middle");
        assert_eq!(redact("nothing to see", secret), "nothing to see");
        assert_eq!(redact("key=abc, abc", "abc"), "key=[redacted], [redacted]", "a short secret: every occurrence");
        assert_eq!(redact("ünïcödé s3cr3t-To", secret), "ünïcödé [redacted]");
    }

    #[tokio::test]
    async fn a_private_destination_is_the_steps_error() {
        let client = client(false);
        for url in ["http://127.0.0.1:9/x", "http://[::1]:9/", "http://localhost:9/", "http://169.254.169.254/latest/meta-data"] {
            let err = send(&client, false, Request { url, method: "GET", body: None, bearer: None }).await.err().unwrap();
            assert!(err.contains("refused") && err.contains("CHRONICLE_EGRESS_ALLOW_PRIVATE"), "{url}: {err}");
        }
    }
}

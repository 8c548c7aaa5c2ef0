//! A credential's allowed hosts: where its secret may be sent. Entries are exact host names
//! or IP literals (`api.example.com`, `127.0.0.1`, `::1`) or one leading wildcard label
//! (`*.example.com`: sub-domains only, at any depth; never `example.com` itself). They are
//! matched against the request URL's host as parsed (lower-case, before DNS), so what is
//! checked is what the client connects to. Pure: no I/O.

use crate::error::{ApiError, ApiResult};
use std::net::{IpAddr, Ipv6Addr};

pub const MAX_ENTRIES: usize = 20;
const FIELD: &str = "allowed_hosts";

/// The list as stored: trimmed, lower-case, IPv6 without brackets, duplicates dropped.
/// 422 naming `allowed_hosts` (and the entry) for anything else.
pub fn normalise(entries: &[String]) -> ApiResult<Vec<String>> {
    if entries.is_empty() {
        return Err(ApiError::invalid(FIELD, "name at least one host the secret may be sent to, e.g. api.example.com"));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::invalid(FIELD, format!("at most {MAX_ENTRIES} hosts")));
    }
    let mut out: Vec<String> = Vec::with_capacity(entries.len());
    for raw in entries {
        let entry = entry(raw).map_err(|why| ApiError::invalid(FIELD, format!("{:?} {why}", raw.trim())))?;
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

fn entry(raw: &str) -> Result<String, &'static str> {
    let text = raw.trim().to_ascii_lowercase();
    if text.is_empty() {
        return Err("is empty");
    }
    if text.contains("://") {
        return Err("must be a host name without a scheme (no https://)");
    }
    if text.contains(['/', '?', '#', '@']) {
        return Err("must be a host name only (no path, query or user)");
    }
    let unbracketed = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(&text);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    if text.contains(':') {
        return Err("must not carry a port");
    }
    if text == "*" {
        return Err("is a wildcard for every host; name the domain, e.g. *.example.com");
    }
    let (wild, name) = match text.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    if name.contains('*') {
        return Err("may use * only as its whole first label, e.g. *.example.com");
    }
    if !is_host_name(name) {
        return Err("is not a host name (letters, digits and hyphens in dot-separated labels; international names in their xn-- form)");
    }
    if wild && !name.contains('.') {
        return Err("is a wildcard over a whole top-level domain; name the domain, e.g. *.example.com");
    }
    Ok(text)
}

fn is_host_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether `host` (a URL's host as parsed: IPv6 may be bracketed) is on the list.
pub fn permits(allowed: &[String], host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    allowed.iter().any(|pattern| match (pattern.strip_prefix('*'), host_ip) {
        // `*.example.com` → the host ends with `.example.com` and has a label before it.
        (Some(suffix), None) => host.len() > suffix.len() && host.ends_with(suffix),
        (Some(_), Some(_)) => false,
        (None, Some(ip)) => pattern.parse::<IpAddr>().is_ok_and(|p| p == ip || mapped_eq(p, ip)),
        (None, None) => *pattern == host,
    })
}

/// `::ffff:127.0.0.1` names the same host as `127.0.0.1`.
fn mapped_eq(a: IpAddr, b: IpAddr) -> bool {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => Ipv6Addr::to_ipv4_mapped(&v6),
    };
    v4(a).is_some() && v4(a) == v4(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> ApiResult<Vec<String>> {
        normalise(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn entries_are_hosts_ips_or_one_leading_wildcard() {
        assert_eq!(list(&[" API.Example.com ", "*.example.com", "127.0.0.1", "[::1]", "api.example.com"]).unwrap(), ["api.example.com", "*.example.com", "127.0.0.1", "::1"]);
        for bad in ["", "*", "https://api.example.com", "api.example.com/x", "api.example.com:443", "a.*.example.com", "*.com", "exa mple.com", "-bad.example", "u@h.com", "ex*ample.com", "*example.com"] {
            let err = list(&[bad]).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("allowed_hosts"), "{bad}");
        }
        assert_eq!(list(&[]).unwrap_err().field.as_deref(), Some("allowed_hosts"));
        let many: Vec<String> = (0..21).map(|i| format!("h{i}.example.com")).collect();
        assert!(normalise(&many).is_err());
        assert_eq!(normalise(&many[..20]).unwrap().len(), 20);
    }

    #[test]
    fn hosts_match_exactly_or_as_sub_domains_of_a_wildcard() {
        let allowed = list(&["api.example.com", "*.hooks.example.net", "127.0.0.1", "::1"]).unwrap();
        for ok in ["api.example.com", "API.EXAMPLE.COM", "a.hooks.example.net", "x.y.hooks.example.net", "127.0.0.1", "[::1]", "::ffff:127.0.0.1"] {
            assert!(permits(&allowed, ok), "{ok}");
        }
        for refused in ["example.com", "evil-api.example.com", "api.example.com.evil.test", "hooks.example.net", "xhooks.example.net", "127.0.0.2", "localhost", "[::2]", ""] {
            assert!(!permits(&allowed, refused), "{refused}");
        }
        assert!(!permits(&[], "api.example.com"), "an empty list refuses everything");
    }
}

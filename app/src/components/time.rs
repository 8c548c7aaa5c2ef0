//! Times as people read them: "3 minutes ago", with the absolute time on hover.

use leptos::prelude::*;

/// "just now", "5 minutes ago", "in 14 days"… for an RFC 3339 time, past or future; the
/// date beyond a month either way.
pub fn relative(rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else { return rfc3339.to_owned() };
    let delta = (now - t.with_timezone(&chrono::Utc)).num_seconds();
    let (secs, future) = (delta.abs(), delta < 0);
    let span = |n: i64, unit: &str| {
        let plural = if n == 1 { "" } else { "s" };
        if future { format!("in {n} {unit}{plural}") } else { format!("{n} {unit}{plural} ago") }
    };
    match secs {
        0..=44 => "just now".into(),
        45..=3599 => span((secs / 60).max(1), "minute"),
        3600..=86_399 => span(secs / 3600, "hour"),
        86_400..=2_591_999 => span(secs / 86_400, "day"),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

/// The absolute time, for the hover title.
pub fn absolute(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// Whether an RFC 3339 time has passed.
pub fn is_past(rfc3339: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(rfc3339).is_ok_and(|t| t <= chrono::Utc::now())
}

#[component]
pub fn RelativeTime(#[prop(into)] at: String) -> impl IntoView {
    let text = relative(&at, chrono::Utc::now());
    view! { <time datetime=at.clone() title=absolute(&at)>{text}</time> }
}

/// A time that may not have happened ("Never"): last use, expiry.
#[component]
pub fn TimeOrNever(at: Option<String>) -> impl IntoView {
    match at {
        Some(t) => view! { <RelativeTime at=t/> }.into_any(),
        None => view! { <span class="muted">"Never"</span> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn reads_like_a_person_would_say_it() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let cases = [
            ("2026-11-23T11:59:50.000000Z", "just now"),
            ("2026-11-23T11:59:00Z", "1 minute ago"),
            ("2026-11-23T11:57:00Z", "3 minutes ago"),
            ("2026-11-23T09:00:00Z", "3 hours ago"),
            ("2026-11-22T12:00:00Z", "1 day ago"),
            ("2026-01-02T00:00:00Z", "2026-01-02"),
            // A session's expiry is in the future.
            ("2026-12-07T12:00:00Z", "in 14 days"),
            ("2026-11-23T15:00:00Z", "in 3 hours"),
        ];
        for (at, want) in cases {
            assert_eq!(relative(at, now), want, "{at}");
        }
    }
}

//! Times as people read them: "3 minutes ago", with the absolute time on hover.

use leptos::prelude::*;

/// "just now", "5 minutes ago", "2 days ago"… for an RFC 3339 time; the date past a month.
pub fn relative(rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else { return rfc3339.to_owned() };
    let secs = (now - t.with_timezone(&chrono::Utc)).num_seconds().max(0);
    let ago = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match secs {
        0..=44 => "just now".into(),
        45..=3599 => ago((secs / 60).max(1), "minute"),
        3600..=86_399 => ago(secs / 3600, "hour"),
        86_400..=2_591_999 => ago(secs / 86_400, "day"),
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
        ];
        for (at, want) in cases {
            assert_eq!(relative(at, now), want, "{at}");
        }
    }
}

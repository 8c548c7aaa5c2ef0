//! Org settings: whether email engagement is recorded, how long the trail is kept, where
//! engagement is forwarded (PostHog host and key; the key sealed like credentials, never
//! returned), when a member's version waits for approval (`workflow_approval`), and whether
//! every member needs a second factor (`require_mfa`: owners only). Every change is audited as `org.settings_changed` with before and after.

use super::audit::redact::REDACTED;
use super::audit::NewEvent;
use super::db::Db;
use super::{credentials, orgs, Acting, Config};
use super::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{OrgSettings, Role, SettingsPatch, WORKFLOW_APPROVAL_MODES};
use serde_json::json;

/// The sealed PostHog key is bound to this id in its org (the associated data).
const POSTHOG_KEY_ID: &str = "posthog_api_key";
pub const MAX_RETENTION_DAYS: i64 = 36_500;

type Row = (i64, Option<i64>, Option<String>, Option<String>, String, i64);
const COLUMNS: &str = "capture_engagement_events, audit_retention_days, posthog_host, posthog_api_key, workflow_approval, CAST(require_mfa AS BIGINT)";

pub async fn get(db: &Db, org_id: &str) -> ApiResult<OrgSettings> {
    let sql = format!("SELECT {COLUMNS} FROM orgs WHERE id = $1");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).fetch_optional(db.pool()).await?;
    row.map(from_row).ok_or_else(|| ApiError::not_found("Organisation"))
}

fn from_row(r: Row) -> OrgSettings {
    OrgSettings {
        capture_engagement_events: r.0 != 0,
        audit_retention_days: r.1,
        posthog_host: r.2,
        posthog_api_key_set: r.3.is_some(),
        workflow_approval: r.4,
        require_mfa: r.5 != 0,
    }
}

/// Applies `patch` (validated whole before anything is written) and answers the settings.
pub async fn update(db: &Db, config: &Config, caller: &Caller, org_id: &str, patch: SettingsPatch, by: &Acting<'_>) -> ApiResult<OrgSettings> {
    if let Some(require_mfa) = patch.require_mfa {
        // Only an owner sets the policy, and never one that would shut them out.
        if caller.role_in(org_id) != Some(Role::Owner) {
            return Err(ApiError::forbidden("owner"));
        }
        if require_mfa && !caller.second_factor {
            return Err(ApiError::new(
                ErrorKind::MfaRequiredFirst,
                "Turn on two-step sign-in for your own account first (Account → Two-step sign-in); then you can require it of everyone.",
            ));
        }
    }
    let host = match &patch.posthog_host {
        Some(Some(host)) => Some(Some(posthog_host(host)?)),
        other => other.clone(),
    };
    if let Some(Some(days)) = patch.audit_retention_days {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(ApiError::invalid("audit_retention_days", format!("must be a number of days from 1 to {MAX_RETENTION_DAYS}, or null to keep everything")));
        }
    }
    if let Some(Some(key)) = &patch.posthog_api_key {
        if key.trim().is_empty() || key.chars().count() > MAX_POSTHOG_TEXT.1 || key.chars().any(char::is_control) {
            return Err(ApiError::invalid("posthog_api_key", "must be the project API key (1 to 512 characters), or null to remove it"));
        }
    }
    if let Some(mode) = &patch.workflow_approval {
        if !WORKFLOW_APPROVAL_MODES.contains(&mode.as_str()) {
            return Err(ApiError::invalid("workflow_approval", format!("must be one of {}", WORKFLOW_APPROVAL_MODES.join(", "))));
        }
    }
    // The org row's lock orders concurrent changes, so each audited "before" is true.
    let mut tx = db.pool().begin().await?;
    orgs::lock_org_in(&mut tx, org_id).await?;
    let sql = format!("SELECT {COLUMNS} FROM orgs WHERE id = $1");
    let before: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).fetch_one(&mut *tx).await?;
    let sealed_key = match &patch.posthog_api_key {
        Some(Some(key)) => Some(Some(credentials::seal(&config.secret, org_id, POSTHOG_KEY_ID, key.trim()))),
        Some(None) => Some(None),
        None => None,
    };
    let after: Row = (
        patch.capture_engagement_events.map_or(before.0, i64::from),
        patch.audit_retention_days.unwrap_or(before.1),
        host.unwrap_or_else(|| before.2.clone()),
        sealed_key.clone().unwrap_or_else(|| before.3.clone()),
        patch.workflow_approval.clone().unwrap_or_else(|| before.4.clone()),
        patch.require_mfa.map_or(before.5, i64::from),
    );
    sqlx::query("UPDATE orgs SET capture_engagement_events = $1, audit_retention_days = $2, posthog_host = $3, posthog_api_key = $4, workflow_approval = $5, require_mfa = $6 WHERE id = $7")
        .bind(after.0)
        .bind(after.1)
        .bind(&after.2)
        .bind(&after.3)
        .bind(&after.4)
        .bind(after.5)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let (old, new) = (from_row(before.clone()), from_row(after.clone()));
    let (mut was, mut now) = (serde_json::Map::new(), serde_json::Map::new());
    let mut changed = |field: &str, a: serde_json::Value, b: serde_json::Value| {
        if a != b {
            was.insert(field.into(), a);
            now.insert(field.into(), b);
        }
    };
    changed("capture_engagement_events", json!(old.capture_engagement_events), json!(new.capture_engagement_events));
    changed("audit_retention_days", json!(old.audit_retention_days), json!(new.audit_retention_days));
    changed("posthog_host", json!(old.posthog_host), json!(new.posthog_host));
    changed("workflow_approval", json!(old.workflow_approval), json!(new.workflow_approval));
    changed("require_mfa", json!(old.require_mfa), json!(new.require_mfa));
    // The key itself never enters the trail: only that it was set, replaced or removed.
    if sealed_key.is_some() {
        was.insert("posthog_api_key".into(), if before.3.is_some() { json!(REDACTED) } else { json!(null) });
        now.insert("posthog_api_key".into(), if after.3.is_some() { json!(REDACTED) } else { json!(null) });
    }
    if !now.is_empty() {
        let event = NewEvent::new(Some(org_id), "org.settings_changed", by.actor.clone(), "org", Some(org_id))
            .changes(&serde_json::Value::Object(was), &serde_json::Value::Object(now))
            .client(by.client);
        by.audit.record(event).await;
    }
    Ok(new)
}

/// A PostHog host: an http(s) origin such as `https://eu.i.posthog.com` (no path, query or
/// credentials), kept without a trailing slash.
/// The most characters of a PostHog host and of a project key (blanks around them included).
pub const MAX_POSTHOG_TEXT: (usize, usize) = (255, 512);

fn posthog_host(host: &str) -> ApiResult<String> {
    let invalid = |why: &str| ApiError::invalid("posthog_host", why.to_owned());
    if host.chars().count() > MAX_POSTHOG_TEXT.0 {
        return Err(invalid("must be at most 255 characters"));
    }
    let host = host.trim().trim_end_matches('/');
    let rest = host.strip_prefix("https://").or_else(|| host.strip_prefix("http://")).ok_or_else(|| invalid("must start with https:// (e.g. https://eu.i.posthog.com)"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must be just the scheme and host, e.g. https://eu.i.posthog.com"));
    }
    Ok(host.to_owned())
}

/// The PostHog destination of an org, key opened, if forwarding is configured.
pub async fn posthog_destination(db: &Db, config: &Config, org_id: &str) -> ApiResult<Option<(String, String)>> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as("SELECT posthog_host, posthog_api_key FROM orgs WHERE id = $1")
        .bind(org_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some((Some(host), Some(sealed))) => credentials::open(config, org_id, POSTHOG_KEY_ID, &sealed).map(|key| (host, key)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posthog_hosts_are_origins() {
        assert_eq!(posthog_host(" https://eu.i.posthog.com/ ").unwrap(), "https://eu.i.posthog.com");
        assert_eq!(posthog_host("http://127.0.0.1:8000").unwrap(), "http://127.0.0.1:8000");
        for bad in ["eu.i.posthog.com", "https://", "https://a/b", "https://u:p@host", "ftp://x", "https://a b"] {
            assert_eq!(posthog_host(bad).unwrap_err().field.as_deref(), Some("posthog_host"), "{bad}");
        }
    }
}

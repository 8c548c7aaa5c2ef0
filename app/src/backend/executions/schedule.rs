//! The scheduler: every few seconds, each instance looks at the enabled workflows with a
//! `schedule_trigger` and fires every cron slot that came due since its last look. A slot is
//! claimed in the database (`schedule_firings`' primary key) in the same transaction that
//! queues its run, so with several instances each slot fires once. Slots that came due while
//! no instance was running are not fired afterwards.

use super::{prepare, Origin, Runner, Trigger};
use crate::backend::audit::{NewEvent, Recorder};
use crate::backend::db::{format_time, new_id, Db};
use crate::error::ErrorKind;
use crate::workflow::catalog::MAX_SCHEDULE_TRIGGERS;
use crate::workflow::Definition;
use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use std::time::Duration;

pub const TICK: Duration = Duration::from_secs(5);

/// A 5-field cron expression (minute hour day-of-month month day-of-week), or an alias such
/// as `@hourly`; the error says why not.
pub fn parse_cron(text: &str) -> Result<Cron, String> {
    let text = text.trim();
    if !text.starts_with('@') && text.split_whitespace().count() != 5 {
        return Err("must have 5 fields: minute hour day-of-month month day-of-week (e.g. \"*/15 * * * *\")".into());
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|e| format!("is not a valid cron expression: {e}"))
}

/// An IANA time zone such as `Europe/Paris` (UTC when the field is empty).
pub fn parse_zone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.trim().parse::<chrono_tz::Tz>().map_err(|_| format!("{text:?} is not an IANA time zone such as Europe/Paris or UTC"))
}

/// The slots of `cron` (in `zone`) in `(after, until]`, in UTC, at most `limit` of them.
pub fn slots_between(cron: &Cron, zone: chrono_tz::Tz, after: DateTime<Utc>, until: DateTime<Utc>, limit: usize) -> Vec<DateTime<Utc>> {
    cron.iter_after(after.with_timezone(&zone)).map(|t| t.with_timezone(&Utc)).take_while(|t| *t <= until).take(limit).collect()
}

/// Starts the scheduler loop.
pub fn spawn(db: Db, audit: Recorder, runner: Runner) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = Utc::now();
        loop {
            tokio::time::sleep(TICK).await;
            let now = Utc::now();
            match fire_due(&db, &audit, &runner, last, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(runs = n, "scheduler: fired due slots"),
                Err(err) => tracing::warn!(error = %err, "scheduler: could not read the schedules; trying again next tick"),
            }
            last = now;
        }
    })
}

/// Fires every slot in `(after, until]` of every enabled scheduled workflow that no instance
/// has fired yet; returns how many runs this call queued.
pub async fn fire_due(db: &Db, audit: &Recorder, runner: &Runner, after: DateTime<Utc>, until: DateTime<Utc>) -> crate::error::ApiResult<usize> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, definition FROM workflows WHERE enabled = 1 AND definition LIKE '%schedule_trigger%'").fetch_all(db.pool()).await?;
    let mut fired = 0;
    for (workflow_id, definition) in rows {
        let Ok(definition) = serde_json::from_str::<Definition>(&definition) else { continue };
        // Each slot once per workflow, however many triggers name it: the run is prepared
        // (the definition read and validated) once per slot, not once per node.
        for slot in due_slots(&definition, after, until) {
            if fire(db, audit, runner, &workflow_id, &format_time(slot)).await? {
                fired += 1;
            }
        }
    }
    Ok(fired)
}

/// The distinct slots in `(after, until]` of a workflow's schedule triggers (at most
/// [`MAX_SCHEDULE_TRIGGERS`] of them are read, and at most 100 slots of each, so a long pause
/// never fires a flood at once), in time order.
pub fn due_slots(definition: &Definition, after: DateTime<Utc>, until: DateTime<Utc>) -> std::collections::BTreeSet<DateTime<Utc>> {
    let triggers = definition.nodes.iter().filter(|n| n.kind == "schedule_trigger").take(MAX_SCHEDULE_TRIGGERS);
    let mut slots = std::collections::BTreeSet::new();
    for node in triggers {
        let text = |key: &str| node.data.config.get(key).and_then(|v| v.as_str()).unwrap_or_default().trim().to_owned();
        let zone = Some(text("timezone")).filter(|z| !z.is_empty()).unwrap_or_else(|| "UTC".into());
        if let (Ok(cron), Ok(zone)) = (parse_cron(&text("cron")), parse_zone(&zone)) {
            slots.extend(slots_between(&cron, zone, after, until, 100));
        }
    }
    slots
}

/// Claims one slot and queues its run in one transaction; false when another instance
/// claimed it first (or the workflow cannot run any more). A workflow with no approved
/// version starts no run: the slot is claimed all the same, and `workflow.run_refused`
/// recorded once for it.
async fn fire(db: &Db, audit: &Recorder, runner: &Runner, workflow_id: &str, slot: &str) -> crate::error::ApiResult<bool> {
    let prepared = match prepare(db, None, workflow_id, Trigger::Schedule, Origin::scheduler(), Some(serde_json::json!({ "slot": slot }))).await {
        Ok(p) => p,
        Err(err) if err.code == ErrorKind::ApprovalRequired => {
            if claim(db.pool(), workflow_id, slot, &new_id()).await? {
                refuse(db, audit, workflow_id, slot).await?;
            }
            return Ok(false);
        }
        Err(err) => {
            tracing::warn!(workflow = %workflow_id, slot, error = %err.message, "scheduler: slot not fired");
            return Ok(false);
        }
    };
    let mut tx = db.pool().begin().await?;
    if !claim(&mut *tx, workflow_id, slot, &prepared.id).await? {
        return Ok(false);
    }
    prepared.insert(&mut tx).await?;
    tx.commit().await?;
    prepared.announce(audit, runner, None).await;
    Ok(true)
}

/// Claims a slot for this instance: false when another came first.
async fn claim<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(conn: E, workflow_id: &str, slot: &str, execution_id: &str) -> crate::error::ApiResult<bool> {
    let claimed = sqlx::query("INSERT INTO schedule_firings (workflow_id, slot, execution_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(workflow_id)
        .bind(slot)
        .bind(execution_id)
        .execute(conn)
        .await?;
    Ok(claimed.rows_affected() == 1)
}

async fn refuse(db: &Db, audit: &Recorder, workflow_id: &str, slot: &str) -> crate::error::ApiResult<()> {
    let org: Option<(String, String)> = sqlx::query_as("SELECT org_id, name FROM workflows WHERE id = $1").bind(workflow_id).fetch_optional(db.pool()).await?;
    let Some((org_id, name)) = org else { return Ok(()) };
    tracing::info!(workflow = %workflow_id, slot, "scheduler: slot refused, the workflow has no approved version");
    let meta = serde_json::json!({ "name": name, "slot": slot, "trigger": "schedule", "reason": "approval_required" });
    audit.record(NewEvent::new(Some(&org_id), "workflow.run_refused", Origin::scheduler().actor, "workflow", Some(workflow_id)).metadata(meta)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_crons_and_zones() {
        assert!(parse_cron("*/15 * * * *").is_ok());
        assert!(parse_cron("@hourly").is_ok());
        assert!(parse_cron("0 0 * * * *").unwrap_err().contains("5 fields"));
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_cron("every minute").is_err());
        assert!(parse_zone("Europe/Paris").is_ok());
        assert!(parse_zone("Mars/Olympus").is_err());
    }

    /// Many triggers on the same cron are one slot each minute, prepared once; only the
    /// first 20 triggers are read (a definition with more cannot be enabled).
    #[test]
    fn a_workflows_triggers_share_their_slots() {
        use crate::workflow::Node;
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let trigger = |i: usize, cron: &str| -> Node {
            serde_json::from_value(serde_json::json!({ "id": format!("t{i}"), "type": "schedule_trigger", "data": { "config": { "cron": cron } } })).unwrap()
        };
        let mut nodes: Vec<Node> = (0..2000).map(|i| trigger(i, "* * * * *")).collect();
        nodes.push(trigger(5000, "30 * * * *"));
        let definition = Definition { nodes, edges: Vec::new() };
        let slots = due_slots(&definition, at("2026-01-10T00:00:00Z"), at("2026-01-10T00:03:00Z"));
        assert_eq!(slots.into_iter().collect::<Vec<_>>(), [at("2026-01-10T00:01:00Z"), at("2026-01-10T00:02:00Z"), at("2026-01-10T00:03:00Z")]);
        let mut hourly_first: Vec<Node> = vec![trigger(0, "0 * * * *"), trigger(1, "*/30 * * * *")];
        hourly_first.extend((2..30).map(|i| trigger(i, "0 0 1 1 *")));
        hourly_first.push(trigger(99, "* * * * *")); // past the 20th: not read
        let definition = Definition { nodes: hourly_first, edges: Vec::new() };
        let slots = due_slots(&definition, at("2026-01-10T00:00:00Z"), at("2026-01-10T01:00:00Z"));
        assert_eq!(slots.into_iter().collect::<Vec<_>>(), [at("2026-01-10T00:30:00Z"), at("2026-01-10T01:00:00Z")]);
    }

    #[test]
    fn slots_follow_the_time_zone() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let daily_nine = parse_cron("0 9 * * *").unwrap();
        let paris = parse_zone("Europe/Paris").unwrap();
        // 09:00 in Paris in winter is 08:00 UTC.
        assert_eq!(slots_between(&daily_nine, paris, at("2026-01-10T00:00:00Z"), at("2026-01-11T00:00:00Z"), 10), [at("2026-01-10T08:00:00Z")]);
        let every_minute = parse_cron("* * * * *").unwrap();
        let got = slots_between(&every_minute, chrono_tz::UTC, at("2026-01-10T00:00:00Z"), at("2026-01-10T00:03:00Z"), 10);
        assert_eq!(got, [at("2026-01-10T00:01:00Z"), at("2026-01-10T00:02:00Z"), at("2026-01-10T00:03:00Z")], "(after, until]");
    }
}

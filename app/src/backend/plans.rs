//! Plans and the storage quota each gives (billing webhooks set an org's plan).

pub const MIB: i64 = 1024 * 1024;

/// The storage quota of each plan; an org with no subscription is on `free`.
pub const PLANS: [(&str, i64); 3] = [("free", 100 * MIB), ("team", 10 * 1024 * MIB), ("enterprise", 1024 * 1024 * MIB)];

pub fn plan_quota(plan: &str) -> i64 {
    PLANS.iter().find(|(p, _)| *p == plan).map_or(PLANS[0].1, |(_, q)| *q)
}

/// SQL for an org row's quota: its own, else its plan's.
pub fn quota_sql() -> String {
    format!(
        "COALESCE(storage_quota_bytes, CASE plan WHEN 'team' THEN {} WHEN 'enterprise' THEN {} ELSE {} END)",
        PLANS[1].1, PLANS[2].1, PLANS[0].1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_set_quotas() {
        assert_eq!(plan_quota("free"), 100 * MIB);
        assert_eq!(plan_quota("team"), 10 * 1024 * MIB);
        assert_eq!(plan_quota("enterprise"), 1024 * 1024 * MIB);
        assert_eq!(plan_quota("nonsense"), 100 * MIB);
    }
}

//! Quantities as people write them: "1 run", "2 runs", "0 checkpoints".

/// `n` and `noun`, the noun plural (an added "s") unless `n` is one.
pub fn count(n: i64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_number_plural() {
        assert_eq!(super::count(1, "checkpoint"), "1 checkpoint");
        assert_eq!(super::count(0, "checkpoint"), "0 checkpoints");
        assert_eq!(super::count(12, "event"), "12 events");
    }
}

//! Durations (`"30s"`, `"1h30m"`) and check intervals (`"@every 1m"`, cron).

use crate::model::{CheckInterval, MIN_CHECK_INTERVAL};
use std::time::Duration;

pub const DURATION_FORM: &str = "a duration such as \"30s\", \"5m\" or \"1h30m\"";

/// A Go-style duration as PikoCI writes them; a bare number is refused because its unit would
/// be a guess.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the duration is empty".into());
    }
    if trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{trimmed}` has no unit"));
    }
    humantime::parse_duration(trimmed).map_err(|e| format!("`{trimmed}` is not a duration: {e}"))
}

/// `@every DURATION` (at least 10 s), a cron descriptor (`@hourly`) or five cron fields.
pub fn parse_check_interval(text: &str) -> Result<CheckInterval, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("@every") {
        let every = parse_duration(rest)?;
        if every < MIN_CHECK_INTERVAL {
            return Err(format!("`{text}` is shorter than the minimum check interval of 10s"));
        }
        return Ok(CheckInterval::Every(every));
    }
    let parser = croner::parser::CronParser::builder().seconds(croner::parser::Seconds::Disallowed).build();
    match parser.parse(text) {
        Ok(_) => Ok(CheckInterval::Cron(text.to_string())),
        Err(e) => Err(format!("`{text}` is neither `@every DURATION` nor a cron expression: {e}")),
    }
}

impl CheckInterval {
    /// How long after `now` the next check is due: the `@every` duration, or the time to the
    /// cron expression's next match in the server's local time.
    pub fn until_next<Tz: chrono::TimeZone>(&self, now: &chrono::DateTime<Tz>) -> Duration {
        match self {
            CheckInterval::Every(every) => *every,
            CheckInterval::Cron(text) => {
                let parser = croner::parser::CronParser::builder().seconds(croner::parser::Seconds::Disallowed).build();
                // The expression was validated when the pipeline was read; a failure here means a
                // schedule with no future match (e.g. 30 February): check daily rather than never.
                match parser.parse(text).ok().and_then(|cron| cron.find_next_occurrence(now, false).ok()) {
                    Some(next) => (next - now.clone()).to_std().unwrap_or(Duration::ZERO),
                    None => Duration::from_secs(24 * 3600),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_check_interval("@every 1m").unwrap(), CheckInterval::Every(Duration::from_secs(60)));
        assert!(parse_check_interval("@every 5s").is_err());
        assert!(matches!(parse_check_interval("0 */5 * * *"), Ok(CheckInterval::Cron(_))));
        assert!(matches!(parse_check_interval("@hourly"), Ok(CheckInterval::Cron(_))));
        assert!(parse_check_interval("every minute").is_err());
        assert!(parse_check_interval("61 * * * *").is_err());
    }

    #[test]
    fn next_checks() {
        use chrono::TimeZone;
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 7, 30).unwrap();
        assert_eq!(CheckInterval::Every(Duration::from_secs(90)).until_next(&now), Duration::from_secs(90));
        let every_five = parse_check_interval("*/5 * * * *").unwrap();
        assert_eq!(every_five.until_next(&now), Duration::from_secs(150));
        let hourly = parse_check_interval("@hourly").unwrap();
        assert_eq!(hourly.until_next(&now), Duration::from_secs(52 * 60 + 30));
        let nightly = parse_check_interval("0 2 * * *").unwrap();
        assert_eq!(nightly.until_next(&now), Duration::from_secs(15 * 3600 + 52 * 60 + 30));
    }
}

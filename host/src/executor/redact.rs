//! Keeping secret values out of build logs.
//!
//! Every resolved secret is registered here before any step that uses it starts. Log lines are
//! redacted whole (the log is assembled into lines before it gets here), so a value split across
//! two output chunks is still caught. Besides the value itself, each of its lines and its common
//! encodings are redacted: base64 (padded and not), JSON string escaping and URL encoding.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use std::sync::RwLock;

pub const MASK: &str = "((redacted))";

/// What URL encoders leave as it is, besides letters and digits: nothing; RFC 3986's unreserved
/// `-._~` (Go, Rust's url, most libraries); also `/` (Python's quote); also `!*'()`
/// (JavaScript's encodeURIComponent).
const URL_ENCODINGS: [&percent_encoding::AsciiSet; 4] = {
    use percent_encoding::NON_ALPHANUMERIC;
    const UNRESERVED: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    [NON_ALPHANUMERIC, UNRESERVED, &UNRESERVED.remove(b'/'), &UNRESERVED.remove(b'!').remove(b'*').remove(b'\'').remove(b'(').remove(b')')]
};

/// `%2F` as `%2f`: some encoders write lower-case hex.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Values shorter than this are not redacted: masking every "a" or "1" would make logs unreadable
/// and reveal the secret's length anyway. Such secrets are weak by construction.
const MIN_SECRET_LEN: usize = 3;

#[derive(Default)]
pub struct Redactor {
    patterns: RwLock<(Vec<String>, Option<AhoCorasick>)>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Redact `secret` and its encodings from every line from now on.
    pub fn add(&self, secret: &str) {
        let mut forms = vec![secret.to_string()];
        forms.extend(secret.lines().map(str::to_string));
        for encoded in [
            base64::engine::general_purpose::STANDARD.encode(secret),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
            base64::engine::general_purpose::URL_SAFE.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        ] {
            forms.push(encoded);
        }
        let json = serde_json::to_string(secret).unwrap_or_default();
        // Only the enclosing quotes: the value's own last character may be an escaped quote.
        forms.push(json[1..json.len() - 1].to_string());
        // URL encodings, as the usual encoders write them, in upper- and lower-case hex.
        for set in URL_ENCODINGS {
            let encoded = percent_encoding::utf8_percent_encode(secret, set).to_string();
            // Form encoding (Go's QueryEscape, HTML forms) writes a space as `+`.
            for form in [encoded.replace("%20", "+"), encoded] {
                forms.push(lower_hex(&form));
                forms.push(form);
            }
        }

        let mut guard = self.patterns.write().unwrap();
        let (patterns, _) = &mut *guard;
        for form in forms {
            if form.trim().len() >= MIN_SECRET_LEN && !patterns.contains(&form) {
                patterns.push(form);
            }
        }
        let matcher = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(patterns.iter()).ok();
        guard.1 = matcher;
    }

    pub fn redact(&self, line: &str) -> String {
        let guard = self.patterns.read().unwrap();
        match &guard.1 {
            Some(matcher) => matcher.replace_all(line, &vec![MASK; guard.0.len()]),
            None => line.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_value_its_lines_and_encodings() {
        let r = Redactor::new();
        r.add("s3cr3t/pa ss\"word");
        r.add("line one\nline two");
        r.add("un-re.ser_ved~/x");
        r.add("it's (mine)!");
        for leaked in [
            "s3cr3t/pa ss\"word".to_string(),
            base64::engine::general_purpose::STANDARD.encode("s3cr3t/pa ss\"word"),
            "s3cr3t/pa ss\\\"word".to_string(),
            "s3cr3t%2Fpa%20ss%22word".to_string(),
            "s3cr3t%2Fpa+ss%22word".to_string(),
            "line two".to_string(),
            "un-re.ser_ved~%2Fx".to_string(),
            "un-re.ser_ved~%2fx".to_string(),
            "un-re.ser_ved~/x".to_string(),
            "it%27s%20%28mine%29%21".to_string(),
            "it's%20(mine)!".to_string(),
        ] {
            let out = r.redact(&format!("token={leaked}!"));
            assert_eq!(out, format!("token={MASK}!"), "leaked {leaked}");
        }
    }

    #[test]
    fn leaves_other_text_alone() {
        let r = Redactor::new();
        r.add("hunter2");
        assert_eq!(r.redact("nothing to see"), "nothing to see");
        r.add("x");
        assert_eq!(r.redact("x marks"), "x marks");
    }
}

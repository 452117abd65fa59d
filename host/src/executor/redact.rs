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

/// Every form in which a program may print `secret` that the redactor catches: the value, in
/// upper and lower case; each of its lines; base64 at each of the three offsets it can have in
/// an encoded stream, whole or in the 76-column lines of `base64`; hex; JSON and URL escaping.
fn forms_of(secret: &str) -> Vec<String> {
    let mut forms = Vec::new();
    for text in std::iter::once(secret).chain(secret.lines()) {
        forms.extend([text.to_string(), text.to_uppercase(), text.to_lowercase()]);
    }
    for alphabet in [base64::engine::general_purpose::STANDARD_NO_PAD, base64::engine::general_purpose::URL_SAFE_NO_PAD] {
        let whole = alphabet.encode(secret);
        // What `base64` prints for the value alone: padded, in lines of 76 characters.
        let padded = format!("{whole}{}", "=".repeat((4 - whole.len() % 4) % 4));
        forms.extend(padded.as_bytes().chunks(76).map(|line| String::from_utf8_lossy(line).into_owned()));
        forms.push(padded);
        forms.extend(base64_inside_a_stream(&alphabet, secret.as_bytes()));
    }
    let hex = hex::encode(secret);
    // `xxd -p` prints 60 hex digits a line.
    forms.extend(hex.as_bytes().chunks(60).map(|line| String::from_utf8_lossy(line).into_owned()));
    forms.push(hex.to_uppercase());
    forms.push(hex);
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
    forms
}

/// The characters of `secret`'s base64 that are the same wherever it sits in a longer encoded
/// stream, for each of the three offsets (the stream's length before it, modulo 3): the
/// characters that also hold bits of the bytes before or after are left out.
fn base64_inside_a_stream(alphabet: &impl base64::Engine, secret: &[u8]) -> Vec<String> {
    (0..3)
        .map(|offset| {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(secret);
            let encoded = alphabet.encode(&shifted);
            // Leading characters made (partly) of the placeholder bytes: 0, 2 or 3.
            let lead = (offset * 8).div_ceil(6);
            // The last character is shared with the next byte unless the bytes end a group.
            let trail = usize::from(shifted.len() % 3 != 0);
            encoded.get(lead..encoded.len().saturating_sub(trail)).unwrap_or_default().to_string()
        })
        // A few characters would match unrelated base64 too often; a secret that short is
        // caught by its other forms.
        .filter(|fragment| fragment.len() >= 4)
        .collect()
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
        let forms = forms_of(secret);
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

    /// What `printf %s "$PREFIX$SECRET$SUFFIX" | base64 -w0` would print.
    fn base64_of_a_stream(prefix: &str, secret: &str, suffix: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{secret}{suffix}"))
    }

    #[test]
    fn redacts_base64_at_every_offset_in_a_longer_stream() {
        let secret = "correct-horse-battery-staple";
        let r = Redactor::new();
        r.add(secret);
        for prefix in ["", "a", "ab", "abc", "user:"] {
            for suffix in ["", "x", "xy", "\n"] {
                let stream = base64_of_a_stream(prefix, secret, suffix);
                let out = r.redact(&stream);
                assert!(out.contains(MASK), "{prefix:?}+secret+{suffix:?}: {stream} leaked as {out}");
                // What is left is the encoding of the prefix and suffix, and a character each side.
                let left = out.len() - MASK.len();
                assert!(left <= (prefix.len() + suffix.len()).div_ceil(3) * 4 + 4, "{prefix:?}+secret+{suffix:?}: {out}");
            }
        }
    }

    #[test]
    fn redacts_base64_in_76_column_lines_hex_and_case() {
        let secret = "a-secret-long-enough-that-base64-wraps-it-onto-a-second-line-0123456789";
        let r = Redactor::new();
        r.add(secret);
        let wrapped = base64::engine::general_purpose::STANDARD.encode(secret);
        let hex = hex::encode(secret);
        let mut printed: Vec<String> = wrapped.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        assert!(printed.len() > 1);
        printed.extend(hex.as_bytes().chunks(60).map(|l| String::from_utf8_lossy(l).into_owned()));
        printed.extend([hex.clone(), hex.to_uppercase(), secret.to_uppercase()]);
        for line in printed {
            assert_eq!(r.redact(&line), MASK, "leaked {line}");
        }
    }

    #[test]
    fn redacts_each_line_of_a_multi_line_secret() {
        let key = "-----BEGIN KEY-----\r\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA\r\nq7BFUpkGp3+XQ0ztaw\r\n-----END KEY-----\r\n";
        let r = Redactor::new();
        r.add(key);
        for line in key.lines() {
            assert_eq!(r.redact(&format!("  {line}")), format!("  {MASK}"), "leaked {line}");
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

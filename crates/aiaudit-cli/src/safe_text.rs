//! Text from the log made safe for where it is shown: a terminal (control characters and
//! bidirectional overrides escaped visibly) or a spreadsheet (formula prefixes neutralised).
//! Any client that can log chooses these strings, so none may reach an auditor's terminal as
//! escape sequences or a spreadsheet as a formula. JSON and JSON lines stay byte-exact.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is: C0 controls and DEL, C1 controls, and the
/// characters that reorder text (bidirectional embeddings, overrides, isolates and marks).
fn unsafe_char(c: char, keep_newline: bool) -> bool {
    match c {
        '\n' => !keep_newline,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{200e}'
        | '\u{200f}'
        | '\u{061c}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn escape(s: &str, keep_newline: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| unsafe_char(c, keep_newline)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c, keep_newline) {
            out.push(c);
            continue;
        }
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0}'..='\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            _ => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// `s` for one line of a terminal table: every control character (newlines too) and every
/// bidirectional override shown as an escape (`\e`, `\n`, `\x07`, `\u202e`).
pub fn terminal(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Multi-line text for a terminal: as [`terminal`], but its newlines kept.
pub fn terminal_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// A CSV cell: quoted where it holds a separator, a quote or a line break, and with a leading
/// `'` where a spreadsheet would read it as a formula (it begins with `=`, `+`, `-`, `@`, a tab
/// or a carriage return: OWASP's rule), unless `raw`.
pub fn csv_cell(s: &str, raw: bool) -> String {
    let neutral = !raw && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let body: Cow<'_, str> = if neutral {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    };
    if body.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", body.replace('"', "\"\""))
    } else {
        body.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminals_see_escapes_not_sequences() {
        assert_eq!(terminal("plain"), "plain");
        assert_eq!(terminal("\u{1b}[31mred\u{1b}[0m"), "\\e[31mred\\e[0m");
        assert_eq!(terminal("\u{1b}]0;pwned\u{7}"), "\\e]0;pwned\\x07");
        assert_eq!(terminal("abc\u{202e}fed"), "abc\\u202efed");
        assert_eq!(terminal("a\nb\r\0"), "a\\nb\\r\\x00");
        assert_eq!(terminal("\u{9b}31m"), "\\u009b31m");
        assert_eq!(terminal_lines("a\nb\u{1b}"), "a\nb\\e");
        assert_eq!(terminal("Grüße 电话"), "Grüße 电话");
    }

    #[test]
    fn csv_cells_stay_data() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://evil\",\"x\")", false),
            "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""
        );
        assert_eq!(csv_cell("+cmd|' /C calc'!A0", false), "'+cmd|' /C calc'!A0");
        assert_eq!(csv_cell("-2+3", false), "'-2+3");
        assert_eq!(csv_cell("@SUM(A1)", false), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx", false), "'\tx");
        assert_eq!(csv_cell("=1+1", true), "=1+1");
        assert_eq!(csv_cell("a,b", false), "\"a,b\"");
        assert_eq!(csv_cell("credit-risk", false), "credit-risk");
    }
}

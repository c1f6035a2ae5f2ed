//! Text from tasks and agents made safe for a terminal: every control character but newline and
//! tab, and the characters that reorder text on screen (bidirectional overrides), is shown
//! escaped (`\x1b`, `\u{202e}`), so a description, question, message or reason cannot move the
//! cursor, clear the screen, retitle the window or write the clipboard. JSON output does not go
//! through here.

use std::borrow::Cow;

/// Whether `c` is shown escaped.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The length of one of coord's own colour codes at the start of `rest` (which begins with ESC):
/// `ESC [ n m` with n a reset, bold, or a foreground colour; 0 for anything else.
fn own_colour(rest: &str) -> usize {
    let Some(body) = rest.strip_prefix("\x1b[") else {
        return 0;
    };
    let Some(end) = body.find('m').filter(|&e| e <= 3) else {
        return 0;
    };
    match body[..end].parse::<u8>() {
        Ok(0 | 1 | 30..=37 | 39 | 90..=97) => end + 3,
        _ => 0,
    }
}

fn escape(text: &str, keep_colour: bool) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        let keep = match c {
            '\x1b' if keep_colour => own_colour(&text[at..]),
            _ => 0,
        };
        if keep > 0 {
            out.push_str(&text[at..at + keep]);
            at += keep;
            continue;
        }
        match (hidden(c), u32::from(c)) {
            (false, _) => out.push(c),
            (true, n @ 0..=0xff) => out.push_str(&format!("\\x{n:02x}")),
            (true, n) => out.push_str(&format!("\\u{{{n:x}}}")),
        }
        at += c.len_utf8();
    }
    Cow::Owned(out)
}

/// `text` with every control character shown escaped (no colour kept).
pub fn plain(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` as printed for people: control characters shown escaped, except the colour codes
/// coord itself adds (a reset, bold or a foreground colour), which anstream strips again off a
/// terminal.
pub fn shown(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

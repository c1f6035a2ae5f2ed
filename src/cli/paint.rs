//! Colour for people: states and failures stand out on a terminal. Text is coloured here and
//! printed through `anstream`, which strips the colour when stdout is not a terminal or when
//! NO_COLOR is set (as clap's own help and errors do).

use anstyle::{AnsiColor, Style};

fn style_of(state: &str) -> Style {
    let colour = match state {
        "completed" | "busy" => AnsiColor::Green,
        "failed" | "gone" | "cancelled" => AnsiColor::Red,
        "waiting" | "review" | "blocked" => AnsiColor::Yellow,
        "assigned" => AnsiColor::Cyan,
        _ => return Style::new(),
    };
    Style::new().fg_color(Some(colour.into()))
}

/// `state` padded to `width` columns, coloured by what it means.
pub fn state(state: &str, width: usize) -> String {
    let style = style_of(state);
    format!("{style}{state:<width$}{style:#}")
}

/// Prints `text` on stdout, in colour only where colour belongs, with every control character
/// but coord's own colour codes shown escaped ([`super::safe::shown`]).
pub fn print(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = anstream::stdout().lock();
    out.write_all(super::safe::shown(text).as_bytes())?;
    out.flush()
}

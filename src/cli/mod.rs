//! Commands of the binary: each turns its arguments into library calls and prints the result.

/// Prints a line for people on stdout through [`paint::print`], which shows control
/// characters in it escaped ([`safe`]).
macro_rules! say {
    () => { $crate::cli::paint::print("\n")? };
    ($($arg:tt)*) => { $crate::cli::paint::print(&format!("{}\n", format_args!($($arg)*)))? };
}

/// Prints text for people on stdout without adding a newline, as [`say!`] does.
macro_rules! say_part {
    ($($arg:tt)*) => { $crate::cli::paint::print(&format!($($arg)*))? };
}

/// Prints a line for people on stderr, control characters shown escaped ([`safe`]).
macro_rules! say_err {
    ($($arg:tt)*) => { eprintln!("{}", $crate::cli::safe::plain(&format!($($arg)*))) };
}

pub mod add;
pub mod app;
pub mod assignment;
pub mod claims;
pub mod complete;
pub mod completions;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod events;
pub mod hook;
pub mod init;
pub mod install;
pub mod list;
pub mod logs;
pub mod mcp_start;
pub mod next;
pub mod operate;
pub mod paint;
pub mod queue;
pub mod recover;
pub mod review;
pub mod safe;
pub mod show;
pub mod stats;
pub mod status;
pub mod table;
pub mod talk;
pub mod wait;
pub mod worker;
pub mod workers;

use std::io::{self, Write};
use std::path::PathBuf;

use crate::Error;
use crate::base::exit::ExitCode;
use crate::fs::workspace::{Origin, Workspace};

/// Opens the workspace named by --root/COORD_ROOT, or the nearest one above the current directory.
pub fn open_workspace(root: Option<PathBuf>) -> anyhow::Result<Workspace> {
    let cwd = std::env::current_dir()?;
    let explicit = root.as_deref().map(|p| {
        let origin = if std::env::var_os("COORD_ROOT").is_some_and(|v| v == p.as_os_str()) {
            Origin::Env
        } else {
            Origin::Flag
        };
        (p, origin)
    });
    Ok(Workspace::find(explicit, &cwd)?)
}

/// The version of the JSON every command prints (docs/json.md); raised when a name or a shape
/// changes in a way a script would notice.
pub const SCHEMA_VERSION: u32 = 1;

/// `value` as JSON, with `schemaVersion` first when it is an object (keys keep their order).
pub fn versioned(value: &impl serde::Serialize) -> serde_json::Value {
    match serde_json::to_value(value).expect("output values serialize") {
        serde_json::Value::Object(obj) => {
            let mut out = serde_json::Map::with_capacity(obj.len() + 1);
            out.insert("schemaVersion".into(), SCHEMA_VERSION.into());
            out.extend(obj);
            serde_json::Value::Object(out)
        }
        other => other,
    }
}

/// Prints a value as one line of JSON on stdout, with `schemaVersion` when it is an object.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &versioned(value))?;
    writeln!(out)?;
    Ok(())
}

/// Prints an error (and its details and hint) on stderr and returns the exit code for it.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    if let Some(io) = err.downcast_ref::<io::Error>()
        && io.kind() == io::ErrorKind::BrokenPipe
    {
        return ExitCode::Success;
    }
    let mut stderr = io::stderr().lock();
    let Some(coord_err) = err.downcast_ref::<Error>() else {
        let _ = writeln!(stderr, "error: {err}");
        for cause in err.chain().skip(1) {
            let _ = writeln!(stderr, "  caused by: {cause}");
        }
        return ExitCode::Failure;
    };
    drop(stderr);
    let red = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let text =
        safe::plain(&error_text(coord_err)).replacen("error:", &format!("{red}error:{red:#}"), 1);
    let _ = write!(anstream::stderr().lock(), "{text}");
    coord_err.exit_code()
}

/// An error as people read it, one item a line: what happened, its details, and what to do.
pub fn error_text(err: &Error) -> String {
    let mut text = format!("error: {err}\n");
    let details = match err {
        Error::InvalidTasks { problems } => problems.iter().map(|p| p.to_string()).collect(),
        Error::Conflict { conflicts } => conflicts.iter().map(|c| c.to_string()).collect(),
        _ => Vec::new(),
    };
    for d in details {
        text.push_str(&format!("  {d}\n"));
    }
    if let Some(hint) = err.hint() {
        text.push_str(&format!("hint: {hint}\n"));
    }
    text
}

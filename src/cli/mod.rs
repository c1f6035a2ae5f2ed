//! Commands of the binary: each turns its arguments into library calls and prints the result.

pub mod assignment;
pub mod claims;
pub mod complete;
pub mod demo;
pub mod doctor;
pub mod events;
pub mod hook;
pub mod init;
pub mod logs;
pub mod next;
pub mod operate;
pub mod queue;
pub mod recover;
pub mod show;
pub mod stats;
pub mod status;
pub mod wait;
pub mod worker;

use std::io::{self, Write};
use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::workspace::{Origin, Workspace};

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

/// Prints a value as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
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
    let _ = writeln!(stderr, "error: {err}");
    let Some(coord_err) = err.downcast_ref::<coord::Error>() else {
        for cause in err.chain().skip(1) {
            let _ = writeln!(stderr, "  caused by: {cause}");
        }
        return ExitCode::Failure;
    };
    match coord_err {
        coord::Error::InvalidTasks { problems } => {
            for p in problems {
                let _ = writeln!(stderr, "  {p}");
            }
        }
        coord::Error::Conflict { conflicts } => {
            for c in conflicts {
                let _ = writeln!(stderr, "  {c}");
            }
        }
        _ => {}
    }
    if let Some(hint) = coord_err.hint() {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    coord_err.exit_code()
}

//! `coord doctor` (or `coord fsck`): check the workspace against the protocol's invariant.

use std::path::PathBuf;

use coord::doctor;
use coord::exit::ExitCode;

/// Arguments of `coord doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repair what can be repaired (nothing is deleted: extra copies are moved to failed/).
    #[arg(long)]
    fix: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints each finding; exits 0 when the workspace is consistent (or everything was fixed).
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let findings = doctor::check(&ws, args.fix)?;
    let open = findings.iter().filter(|f| !f.fixed).count();
    if args.json {
        super::print_json(&serde_json::json!({"consistent": open == 0, "findings": findings}))?;
    } else if findings.is_empty() {
        println!(
            "{}: consistent: every task is in exactly one state, with its report when finished",
            ws.root().display()
        );
    } else {
        for f in &findings {
            let mark = if f.fixed { "fixed" } else { "found" };
            println!(
                "{mark:<6} {:<15} {}: {}",
                f.kind,
                f.path.display(),
                f.message
            );
        }
        if open > 0 {
            println!(
                "{open} problem(s) left; run `coord doctor --fix` to repair what can be repaired"
            );
        }
    }
    Ok(if open == 0 {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

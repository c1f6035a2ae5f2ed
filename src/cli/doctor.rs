//! `coord doctor` (or `coord fsck`): check the workspace against the protocol's invariant.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::fs::fsinfo;
use crate::verbs::doctor;

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
    let mut findings = doctor::check(&ws, args.fix)?;
    let probe = fsinfo::probe(ws.root(), &ws.tmp()).ok();
    if let Some(p) = &probe {
        findings.extend(doctor::filesystem_findings(&ws, p));
    }
    let open = findings.iter().filter(|f| !f.fixed).count();
    if args.json {
        super::print_json(&serde_json::json!({
            "consistent": open == 0,
            "findings": findings,
            "filesystem": probe,
        }))?;
        return Ok(if open == 0 {
            ExitCode::Success
        } else {
            ExitCode::Failure
        });
    }
    match &probe {
        Some(p) => {
            let yes = |b: bool| if b { "yes" } else { "NO" };
            say!(
                "file system: {}{}; locks exclude between processes here: {}; a second rename of a claimed name fails: {}; renameat2 no-replace: {}",
                p.filesystem,
                if p.shared {
                    " (shared by hosts)"
                } else {
                    " (local)"
                },
                yes(p.locks_exclude),
                yes(p.rename_exclusive),
                yes(p.rename_noreplace)
            );
            if p.shared {
                say!(
                    "  other hosts: their locks are not seen here, so their workers are judged by lease ({}s without a new beat); workers rescan every {}s; {}",
                    ws.worker_lease().as_secs(),
                    fsinfo::NETWORK_POLL.as_secs_f32(),
                    fsinfo::CACHE_ADVICE
                );
            }
        }
        None => say!("file system: not probed (the workspace cannot be written)"),
    }
    if findings.is_empty() {
        say!(
            "{}: consistent: every task is in exactly one state, with its report when finished",
            ws.root().display()
        );
    } else {
        for f in &findings {
            let mark = if f.fixed { "fixed" } else { "found" };
            say!(
                "{mark:<6} {:<15} {}: {}",
                f.kind,
                f.path.display(),
                f.message
            );
        }
        if open > 0 {
            say!("{open} problem(s) left; run `coord doctor --fix` to repair what can be repaired");
        }
    }
    Ok(if open == 0 {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

//! `coord demo`: the fixture scenario end to end, with zero manual steps.
//!
//! A temporary project gets three documents, a tasks file and a handler script (the files under
//! fixtures/, built into the binary); the tasks are queued and two worker processes drain them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;
use crate::Result;
use crate::base::exit::ExitCode;
use crate::verbs::queue::{self, Outcome};
use crate::views::status;
use crate::{Workspace, model::report, model::task, state::layout, state::store};
use anyhow::Context;

/// Arguments of `coord demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to create the demo project (default: a new temporary directory, kept afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print one JSON object at the end (project, workspace, counts, reports) instead of text;
    /// the workers' logs still go to stderr.
    #[arg(long)]
    json: bool,
}

const FILES: &[(&str, &str)] = &[
    (
        "fixtures/docs/maildir.md",
        include_str!("../../fixtures/docs/maildir.md"),
    ),
    (
        "fixtures/docs/inotify.md",
        include_str!("../../fixtures/docs/inotify.md"),
    ),
    (
        "fixtures/docs/leases.md",
        include_str!("../../fixtures/docs/leases.md"),
    ),
    (
        "fixtures/tasks.json",
        include_str!("../../fixtures/tasks.json"),
    ),
    (
        "fixtures/summarize.sh",
        include_str!("../../fixtures/summarize.sh"),
    ),
];

const HANDLER: &str = "sh fixtures/summarize.sh";

/// Runs the demo and prints where everything is.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let project = match args.dir {
        Some(dir) => dir,
        None => tempfile::Builder::new()
            .prefix("coord-demo-")
            .tempdir()?
            .keep(),
    };
    for (rel, text) in FILES {
        let path = project.join(rel);
        std::fs::create_dir_all(path.parent().expect("fixture paths have a folder"))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let ws = layout::init(&project, None)?;
    let say = |text: String| -> std::io::Result<()> {
        if !args.json {
            say!("{text}");
        }
        Ok(())
    };
    say(format!("project:   {}", project.display()))?;
    say(format!("workspace: {}", ws.root().display()))?;

    let input = std::fs::read_to_string(project.join("fixtures/tasks.json"))?;
    let tasks = task::parse_tasks(&input).map_err(|problems| Error::InvalidTasks { problems })?;
    for r in queue::enqueue(&ws, tasks)? {
        let what = if r.outcome == Outcome::Queued {
            "queued"
        } else {
            "unchanged"
        };
        say(format!("{what:<10} {}", r.id))?;
    }

    say(format!(
        "\nstarting worker-A and worker-B with --exec '{HANDLER}' (their logs follow on stderr)\n"
    ))?;
    let exe = std::env::current_exe()?;
    let workers: Vec<_> = ["worker-A", "worker-B"]
        .into_iter()
        .map(|id| {
            let mut cmd = Command::new(&exe);
            cmd.arg("--root")
                .arg(ws.root())
                .args(["worker", "--id", id, "--exec", HANDLER])
                .current_dir(&project);
            if args.json {
                // stdout carries the one JSON object; the workers' summaries join their logs.
                cmd.stdout(std::io::stderr());
            }
            cmd.spawn().with_context(|| format!("cannot start {id}"))
        })
        .collect::<anyhow::Result<_>>()?;
    for mut child in workers {
        child.wait()?;
    }

    let st = status::gather(&ws)?;
    if args.json {
        let mut names = store::list_files(&ws.reports())?;
        names.sort();
        let reports = names
            .iter()
            .map(|n| report::read(&ws.reports().join(n)))
            .collect::<Result<Vec<_>>>()?;
        super::print_json(&serde_json::json!({
            "project": project,
            "root": ws.root(),
            "counts": st.counts,
            "reports": reports,
        }))?;
    } else {
        super::paint::print(&format!("\n{}", super::status::render(&st)))?;
        print_reports(&ws)?;
    }
    Ok(if st.counts.completed == 3 && st.counts.failed == 0 {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

fn print_reports(ws: &Workspace) -> anyhow::Result<()> {
    say!("reports in {}:", ws.reports().display());
    let mut names = store::list_files(&ws.reports())?;
    names.sort();
    for name in names {
        let r = report::read(&ws.reports().join(&name))?;
        let words = r
            .result
            .as_ref()
            .and_then(|v| v.get("wordCount"))
            .map_or_else(String::new, |w| format!(", {w} words"));
        say!(
            "  {:<10} {:<9} by {} in {} ms{words}: {}",
            r.task_id,
            r.status,
            r.worker_id,
            r.duration_ms,
            r.deliverables
                .iter()
                .map(|d| rel(ws.project(), d))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

fn rel(project: &Path, p: &str) -> String {
    project.join(p).display().to_string()
}

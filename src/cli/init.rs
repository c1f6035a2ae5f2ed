//! `coord init [DIR]`: create a workspace.

use std::path::PathBuf;

use crate::Error;
use crate::base::exit::ExitCode;
use crate::policy::trust;
use crate::state::layout;

/// Arguments of `coord init`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord init
  coord init --shared devs     a team workspace for the group devs")]
pub struct Args {
    /// The project directory to create .coord in (default: the current directory).
    dir: Option<PathBuf>,
    /// Share the workspace with a group (name or id): folders 2770, files 0660, and the
    /// group trusted like the owner. Without it the workspace is private (0700).
    #[arg(long, value_name = "GROUP")]
    shared: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Creates DIR/.coord and prints its path.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = match args.dir {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    // The project must exist: a mistyped path is refused rather than created.
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "{} is not an existing folder; create it first (mkdir -p {0}) or run `coord init` in \
             the project",
            dir.display()
        ))
        .into());
    }
    let gid = args.shared.as_deref().map(trust::group_id).transpose()?;
    let ws = layout::init(&dir, gid)?;
    if args.json {
        super::print_json(&serde_json::json!({
            "root": ws.root(),
            "project": ws.project(),
            "sharedGid": ws.shared_group(),
        }))?;
    } else {
        say!("{}", ws.root().display());
    }
    Ok(ExitCode::Success)
}

//! `coord init [DIR]`: create a workspace.

use std::path::PathBuf;

use coord::Workspace;
use coord::exit::ExitCode;

/// Arguments of `coord init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory to create .coord in (default: the current directory).
    dir: Option<PathBuf>,
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
    std::fs::create_dir_all(&dir).map_err(|e| coord::Error::io("create", &dir, e))?;
    let ws = Workspace::init(&dir)?;
    if args.json {
        super::print_json(&serde_json::json!({
            "root": ws.root(),
            "project": ws.project(),
        }))?;
    } else {
        println!("{}", ws.root().display());
    }
    Ok(ExitCode::Success)
}

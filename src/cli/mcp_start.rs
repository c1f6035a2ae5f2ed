//! `coord mcp`: starts `coord-mcp`, the MCP server, in this process's place, with the same
//! arguments and workspace. The server is a program of its own so that the MCP SDK is linked
//! into it alone (docs/performance.md).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::Error;
use crate::base::exit::ExitCode;

/// Arguments of `coord mcp`, passed to `coord-mcp` as they are (`coord mcp --help` shows its
/// help).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// `coord-mcp`'s arguments: `--worker ID`, `--labels a,b`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<OsString>,
}

/// Replaces this process with `coord-mcp` from the folder that holds this `coord`.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let server = exe.with_file_name("coord-mcp");
    let mut cmd = std::process::Command::new(&server);
    cmd.args(&args.args);
    if let Some(root) = root {
        cmd.env("COORD_ROOT", root);
    }
    // `exec` returns only when it failed.
    let err = cmd.exec();
    Err(Error::io("start the MCP server", &server, err).into())
}

//! `coord config [KEY [VALUE]]`: show or change the workspace's settings (`config.json`).

use std::path::PathBuf;

use crate::Error;
use crate::Result;
use crate::base::exit::ExitCode;
use crate::base::time;
use crate::fs::workspace::Config;
use crate::model::task;

/// Arguments of `coord config`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Keys:
  review               true: every task waits for `coord approve` once its checks pass
                       (a task's own \"review\" field wins)
  limit.LABEL          the most tasks requiring LABEL held at once; `none` removes it
  leaseSecs            a hand-off worker's lease, in seconds (default 1800)
  workerLeaseSecs      a `coord worker` seen from another host, in seconds (default 60)
  fsync                false: skip flushes (faster, a power loss may undo recent changes)

Examples:
  coord config review true
  coord config limit.deploy 1")]
pub struct Args {
    /// The setting to show or change; all of them when absent.
    key: Option<String>,
    /// Its new value.
    value: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Shows the settings, or changes one.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let mut ws = super::open_workspace(root)?;
    let config = match (&args.key, &args.value) {
        (Some(key), Some(value)) => ws.update_config(|c| set(c, key, value))?,
        _ => ws.config().as_ref().clone(),
    };
    match (&args.key, args.json) {
        (None, true) => super::print_json(&config)?,
        (None, false) => say_part!("{}", render(&config)),
        (Some(key), json) => {
            let value = get(&config, key)?;
            if json {
                super::print_json(&serde_json::json!({"key": key, "value": value}))?;
            } else {
                say!("{key} = {value}");
            }
        }
    }
    Ok(ExitCode::Success)
}

fn render(c: &Config) -> String {
    let mut out = format!(
        "review = {}\nleaseSecs = {}\nworkerLeaseSecs = {}\nfsync = {}\n",
        c.review, c.lease_secs, c.worker_lease_secs, c.fsync
    );
    for (label, n) in &c.label_limits {
        out.push_str(&format!("limit.{label} = {n}\n"));
    }
    out
}

fn unknown(key: &str) -> Error {
    Error::Invalid(format!(
        "unknown setting {key:?}: use review, limit.LABEL, leaseSecs, workerLeaseSecs or fsync (see `coord config --help`)"
    ))
}

fn get(c: &Config, key: &str) -> Result<serde_json::Value, Error> {
    Ok(match key {
        "review" => c.review.into(),
        "leaseSecs" => c.lease_secs.into(),
        "workerLeaseSecs" => c.worker_lease_secs.into(),
        "fsync" => c.fsync.into(),
        _ => match key.strip_prefix("limit.") {
            Some(label) => c
                .label_limits
                .get(label)
                .map_or(serde_json::Value::Null, |n| (*n).into()),
            None => return Err(unknown(key)),
        },
    })
}

fn set(c: &mut Config, key: &str, value: &str) -> Result<()> {
    let flag = || match value {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(Error::Invalid(format!(
            "{key} is true or false, not {value:?}"
        ))),
    };
    let secs = || match time::parse_secs(value) {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Error::Invalid(format!(
            "{key} is a whole number of seconds from 1 up to 100 years, not {value:?}"
        ))),
    };
    match key {
        "review" => c.review = flag()?,
        "fsync" => c.fsync = flag()?,
        "leaseSecs" => c.lease_secs = secs()?,
        "workerLeaseSecs" => c.worker_lease_secs = secs()?,
        _ => {
            let Some(label) = key.strip_prefix("limit.") else {
                return Err(unknown(key));
            };
            task::check_id(label).map_err(|e| Error::Invalid(format!("label {label:?}: {e}")))?;
            match value {
                "none" | "off" => {
                    c.label_limits.remove(label);
                }
                n => match n.parse::<u32>() {
                    Ok(n) if n >= 1 => {
                        c.label_limits.insert(label.to_string(), n);
                    }
                    _ => {
                        return Err(Error::Invalid(format!(
                            "a limit is a whole number from 1 up, or `none`, not {value:?}"
                        )));
                    }
                },
            }
        }
    }
    Ok(())
}

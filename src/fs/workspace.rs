//! The workspace: a `.coord` folder, how it is found, and where each kind of file lives in it.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::error::{Error, Result};
use crate::fs::durable::{self, Durability};

/// The name of the workspace folder inside a project directory.
pub const DIR_NAME: &str = ".coord";

const CONFIG_FILE: &str = "config.json";

/// Settings kept in `.coord/config.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Layout version of the workspace.
    pub version: u32,
    /// Flush every durable change to stable storage (default true).
    #[serde(default = "default_true")]
    pub fsync: bool,
    /// Seconds a hand-off worker may show no sign of life before its tasks are taken back.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// Seconds a `coord worker` on another host may show no new beat before its tasks are
    /// taken back (it beats every 10 s, running or idle).
    #[serde(default = "default_worker_lease")]
    pub worker_lease_secs: u64,
    /// The group a shared workspace belongs to (`coord init --shared GROUP`), trusted like the
    /// owner; None for a private workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_gid: Option<u32>,
    /// Whether a task that does not say (`review`) waits for a reviewer's approval once its
    /// checks pass (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub review: bool,
    /// The most tasks requiring a label that may be held at once, per label.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub label_limits: std::collections::BTreeMap<String, u32>,
}

fn default_lease() -> u64 {
    DEFAULT_LEASE_SECS
}

fn default_worker_lease() -> u64 {
    DEFAULT_WORKER_LEASE_SECS
}

/// The default lease of a `coord worker` process seen from another host: 60 seconds.
pub const DEFAULT_WORKER_LEASE_SECS: u64 = 60;

/// The default lease of hand-off work: 30 minutes.
pub const DEFAULT_LEASE_SECS: u64 = 1800;

fn default_true() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: 1,
            fsync: true,
            lease_secs: DEFAULT_LEASE_SECS,
            worker_lease_secs: DEFAULT_WORKER_LEASE_SECS,
            shared_gid: None,
            review: false,
            label_limits: Default::default(),
        }
    }
}

/// An opened workspace: the `.coord` folder and the project directory around it.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    project: PathBuf,
    /// The settings as read when the workspace was opened (fsync and sharing come from here).
    config: Config,
    /// The settings as last read, with the file's identity then: looked at again by every
    /// decision a setting governs, so a change reaches running workers at once.
    fresh: std::sync::Arc<std::sync::Mutex<Fresh>>,
}

/// `config.json` as last read, and what its file was then (device, inode, size, mtime).
#[derive(Debug)]
struct Fresh {
    stamp: Option<(u64, u64, u64, i64, i64)>,
    config: std::sync::Arc<Config>,
}

/// What identifies one version of a file without reading it.
fn stamp(path: &Path) -> Option<(u64, u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// Where `find` looked, so the error can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The global `--root` flag.
    Flag,
    /// The COORD_ROOT variable.
    Env,
}

impl Workspace {
    /// Creates `<dir>/.coord` with `folders` (the state machine's layout names them) and
    /// `tmp/`; harmless when it already exists.
    ///
    /// A private workspace is mode 0700. With `shared_gid`, the workspace and its folders
    /// belong to that group with mode 2770, and every file coord writes in it is 0660.
    pub fn init(dir: &Path, shared_gid: Option<u32>, folders: &[&str]) -> Result<Workspace> {
        let root = dir.join(DIR_NAME);
        let config_path = root.join(CONFIG_FILE);
        if let Ok(existing) = Workspace::open(&root)
            && existing.config.shared_gid != shared_gid
        {
            let kind = match existing.config.shared_gid {
                Some(_) => "shared",
                None => "private",
            };
            return Err(Error::Invalid(format!(
                "{} already exists as a {kind} workspace; its sharing is set when it is created",
                root.display()
            )));
        }
        if shared_gid.is_some() {
            durable::share_with_group();
        }
        durable::create_dir(&root)?;
        if let Some(gid) = shared_gid {
            std::os::unix::fs::chown(&root, None, Some(gid))
                .map_err(|e| Error::io("change the group of", &root, e))?;
            // The setgid bit is cleared by chown; set the mode again.
            fs::set_permissions(&root, fs::Permissions::from_mode(durable::dir_mode()))
                .map_err(|e| Error::io("set the mode of", &root, e))?;
        }
        for folder in folders.iter().chain(&["tmp"]) {
            durable::create_dir(&root.join(folder))?;
        }
        if !config_path.exists() {
            let config = Config {
                shared_gid,
                ..Config::default()
            };
            let bytes = serde_json::to_vec_pretty(&config).expect("config serializes");
            let durability = Durability { fsync: true };
            let tmp = durable::write_tmp(&root.join("tmp"), "config", &bytes, durability)?;
            durable::publish_new(&tmp, &config_path)?;
            durable::sync_dir(&root, durability)?;
        }
        Workspace::open(&root)
    }

    /// Opens the workspace whose `.coord` folder is `root`.
    pub fn open(root: &Path) -> Result<Workspace> {
        if !root.join("pending").is_dir() {
            return Err(Error::NotAWorkspace {
                path: root.to_path_buf(),
            });
        }
        let root = fs::canonicalize(root).map_err(|e| Error::io("resolve", root, e))?;
        let project = root
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.clone());
        let config_path = root.join(CONFIG_FILE);
        let stamp_then = stamp(&config_path);
        let mut config = read_config(&config_path)?;
        if config.shared_gid.is_some() {
            durable::share_with_group();
        }
        if !root.join("blocked").is_dir() {
            // Made by an older coord: add the folder (a read-only workspace simply has none).
            let _ = durable::create_dir(&root.join("blocked"));
        }
        if let Ok(v) = std::env::var("COORD_FSYNC") {
            config.fsync = !matches!(v.as_str(), "0" | "false" | "off" | "no");
        }
        let fresh = Fresh {
            stamp: stamp_then,
            config: std::sync::Arc::new(config.clone()),
        };
        Ok(Workspace {
            root,
            project,
            config,
            fresh: std::sync::Arc::new(std::sync::Mutex::new(fresh)),
        })
    }

    /// Finds the workspace: `explicit` (from --root or COORD_ROOT) if given, else the nearest
    /// `.coord` in `cwd` or its parents.
    pub fn find(explicit: Option<(&Path, Origin)>, cwd: &Path) -> Result<Workspace> {
        if let Some((path, _origin)) = explicit {
            return Workspace::open(path);
        }
        let mut dir = Some(cwd);
        while let Some(d) = dir {
            let candidate = d.join(DIR_NAME);
            if candidate.join("pending").is_dir() {
                let ws = Workspace::open(&candidate)?;
                ws.check_discovered()?;
                return Ok(ws);
            }
            dir = d.parent();
        }
        Err(Error::NoWorkspace {
            searched: format!("in {} or any parent directory", cwd.display()),
        })
    }

    /// Refuses a workspace found by searching upwards that this user does not own (or share
    /// through the group of `init --shared`), or that anyone may write: another user could have
    /// planted it above the project, as git's `safe.directory` guards against. A workspace named
    /// with `--root` or `COORD_ROOT` is the user's explicit choice and is not refused.
    fn check_discovered(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let meta =
            fs::symlink_metadata(&self.root).map_err(|e| Error::io("inspect", &self.root, e))?;
        let me = rustix::process::geteuid().as_raw();
        let shared = self.config.shared_gid == Some(meta.gid());
        let problem = if meta.mode() & 0o002 != 0 {
            Some(format!(
                "it is writable by every user (mode {:04o})",
                meta.mode() & 0o7777
            ))
        } else if meta.uid() != me && !shared {
            Some(format!(
                "it belongs to uid {}, not to you (uid {me})",
                meta.uid()
            ))
        } else {
            None
        };
        match problem {
            None => Ok(()),
            Some(problem) => Err(Error::UntrustedWorkspace {
                path: self.root.clone(),
                problem,
            }),
        }
    }

    /// The `.coord` folder itself (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The project directory: the parent of `.coord`; task paths are relative to it.
    pub fn project(&self) -> &Path {
        &self.project
    }

    /// The workspace's durability setting.
    pub fn durability(&self) -> Durability {
        Durability {
            fsync: self.config.fsync,
        }
    }

    /// The group a shared workspace belongs to, None for a private one.
    pub fn shared_group(&self) -> Option<u32> {
        self.config.shared_gid
    }

    /// How long a `coord worker` on another host may go without a new beat.
    pub fn worker_lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config().worker_lease_secs.max(1))
    }

    /// The settings as `config.json` holds them now: read again whenever the file changed
    /// since the last look (one `stat` otherwise); a file that cannot be read or parsed leaves
    /// the last good settings in force.
    pub fn config(&self) -> std::sync::Arc<Config> {
        let path = self.root.join(CONFIG_FILE);
        let now = stamp(&path);
        let mut fresh = self.fresh.lock().unwrap_or_else(|e| e.into_inner());
        if now != fresh.stamp
            && let Ok(config) = read_config(&path)
        {
            fresh.stamp = now;
            fresh.config = std::sync::Arc::new(config);
        }
        fresh.config.clone()
    }

    /// Changes the settings: under `config.lock`, reads `config.json` again, applies `change`,
    /// and replaces the file whole (temp file and rename), so two changes never lose one
    /// another. Returns the new settings.
    pub fn update_config(
        &mut self,
        change: impl FnOnce(&mut Config) -> Result<()>,
    ) -> Result<Config> {
        let lock_path = self.root.join("config.lock");
        let lock = durable::open_append(&lock_path)?;
        lock.lock().map_err(|e| Error::io("lock", &lock_path, e))?;
        let path = self.root.join(CONFIG_FILE);
        let bytes =
            durable::read_limited(&path, 1 << 20).map_err(|e| Error::io("read", &path, e))?;
        let mut config: Config = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            what: "cannot parse the workspace settings",
            path: path.clone(),
            source,
        })?;
        change(&mut config)?;
        let bytes = serde_json::to_vec_pretty(&config).expect("config serializes");
        let durability = Durability { fsync: true };
        let tmp = durable::write_tmp(&self.tmp(), "config", &bytes, durability)?;
        durable::replace(&tmp, &path)?;
        durable::sync_dir(&self.root, durability)?;
        self.config = config.clone();
        Ok(config)
    }

    /// The workspace's default lease for hand-off work.
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config().lease_secs.max(1))
    }

    /// Tasks ready to be claimed.
    pub fn pending(&self) -> PathBuf {
        self.root.join("pending")
    }

    /// Tasks waiting for the tasks they depend on.
    pub fn blocked(&self) -> PathBuf {
        self.root.join("blocked")
    }

    /// The folder of all workers' claims.
    pub fn assigned_root(&self) -> PathBuf {
        self.root.join("assigned")
    }

    /// Tasks held by one worker.
    pub fn assigned(&self, worker: &str) -> PathBuf {
        self.root.join("assigned").join(worker)
    }

    /// Tasks whose holder asked a question and waits for the answer.
    pub fn waiting(&self) -> PathBuf {
        self.root.join("waiting")
    }

    /// Tasks whose checks passed, waiting for a reviewer's approval.
    pub fn review(&self) -> PathBuf {
        self.root.join("review")
    }

    /// Messages: one inbox per worker and one for the coordinator.
    pub fn messages(&self) -> PathBuf {
        self.root.join("messages")
    }

    /// Tasks that completed.
    pub fn completed(&self) -> PathBuf {
        self.root.join("completed")
    }

    /// Dead letters: tasks out of attempts, and files that were not valid tasks.
    pub fn failed(&self) -> PathBuf {
        self.root.join("failed")
    }

    /// One report per finished task.
    pub fn reports(&self) -> PathBuf {
        self.root.join("reports")
    }

    /// Worker logs.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Output of task commands, one file per attempt.
    pub fn task_logs(&self) -> PathBuf {
        self.root.join("logs").join("tasks")
    }

    /// Worker records and lock files.
    pub fn workers(&self) -> PathBuf {
        self.root.join("workers")
    }

    /// Temp files, on the same file system as every state folder.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The lock that serialises `coord queue` calls.
    pub fn queue_lock(&self) -> PathBuf {
        self.root.join("queue.lock")
    }
}

/// Reads `config.json`; the defaults when it does not exist.
fn read_config(path: &Path) -> Result<Config> {
    match durable::read_limited(path, 64 * 1024) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            what: "cannot parse",
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

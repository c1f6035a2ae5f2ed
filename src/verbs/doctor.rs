//! Checking a whole workspace against the protocol's invariant, and repairing what a crash or a
//! hand edit left behind.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::base::error::Result;
use crate::fs::fsinfo;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::policy::depends;
use crate::policy::lease;
use crate::policy::recover;
use crate::policy::trust;
use crate::state::layout::report_path;
use crate::state::store;
use crate::state::{self, TaskState, locks};
use crate::verbs::review;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A workspace folder another user could write.
    Unsafe,
    /// Temp files dead processes left.
    Leftover,
    /// A task in more than one state.
    Duplicate,
    /// A finished task without a report.
    MissingReport,
    /// A blocked task whose dependencies have all finished.
    Blocked,
    /// A blocked task waiting for a task that is in no state: it can never run.
    NeverRuns,
    /// Something the file system cannot do that coord relies on.
    Filesystem,
    /// Claims of a worker that has no record.
    OrphanClaims,
    /// A task in review/ whose rejection was cut short after its rewrite.
    InterruptedRejection,
    /// A folder in pending/ that is not a batch folder: its tasks are never claimed.
    StrayFolder,
    /// A symbolic link inside the workspace: coord never follows one, and none of its own is.
    Link,
    /// A folder or file of coord's that belongs to another user (not the workspace's group).
    ForeignOwner,
    /// A task file bigger than any task file coord writes or reads.
    Oversized,
}

names!(Kind {
    Unsafe => "unsafe",
    Leftover => "leftover",
    Duplicate => "duplicate",
    MissingReport => "missing-report",
    Blocked => "blocked",
    NeverRuns => "never-runs",
    Filesystem => "filesystem",
    OrphanClaims => "orphan-claims",
    InterruptedRejection => "interrupted-rejection",
    StrayFolder => "stray-folder",
    Link => "link",
    ForeignOwner => "foreign-owner",
    Oversized => "oversized",
});

/// One thing found wrong.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What kind of problem.
    pub kind: Kind,
    /// The file or folder concerned.
    pub path: PathBuf,
    /// What is wrong, and what the fix does or would do.
    pub message: String,
    /// Whether `--fix` repaired it in this run.
    pub fixed: bool,
}

/// The rank of a state in the flow: a copy in a later state wins over one in an earlier state.
fn rank(state: &TaskState) -> u8 {
    match state {
        TaskState::Pending | TaskState::Blocked => 0,
        TaskState::Assigned(_) | TaskState::Waiting => 1,
        TaskState::Review => 2,
        TaskState::Failed => 3,
        TaskState::Completed => 4,
    }
}

/// Checks every task and temp file of the workspace; with `fix`, repairs what it can. Each kind
/// of finding has its own look, in this order.
pub fn check(ws: &Workspace, fix: bool) -> Result<Vec<Finding>> {
    let mut findings = unsafe_folders(ws);
    let orphans = state::orphans(ws, fix)?;
    findings.extend(leftovers(ws, &orphans, fix));
    findings.extend(stray_folders(ws, fix)?);
    findings.extend(planted(ws));
    let workers = store::assigned_workers(ws)?;
    findings.extend(orphan_claims_of(ws, &workers, fix)?);
    let finished = duplicates(ws, &workers, &orphans.report_ids, fix, &mut findings)?;
    findings.extend(missing_reports(ws, finished, fix)?);
    findings.extend(stuck_blocked(ws, fix)?);
    findings.extend(cut_short_rejections(ws, fix)?);
    findings.extend(never_runs(ws, fix)?);
    Ok(findings)
}

/// The workspace's folders that another user could write.
fn unsafe_folders(ws: &Workspace) -> Vec<Finding> {
    let folders = [ws.root().to_path_buf(), ws.pending(), ws.assigned_root()];
    (folders.into_iter())
        .filter_map(|path| {
            let distrust = trust::problem(&path, ws.shared_group())?;
            Some(Finding {
                kind: Kind::Unsafe,
                path,
                message: format!(
                    "{}: workers will not run commands; fix with `{}`",
                    distrust.problem, distrust.fix
                ),
                fixed: false,
            })
        })
        .collect()
}

/// What dead processes left in tmp/ (published or removed already when `fix`).
fn leftovers(ws: &Workspace, orphans: &state::Orphans, fix: bool) -> Option<Finding> {
    (orphans.published + orphans.removed > 0).then(|| Finding {
        kind: Kind::Leftover,
        path: ws.tmp(),
        message: format!(
            "{} whole report(s) of committed tasks to publish and {} other temp file(s) of dead processes to remove",
            orphans.published, orphans.removed
        ),
        fixed: fix,
    })
}

/// The claims of workers that have no record.
fn orphan_claims_of(ws: &Workspace, workers: &[String], fix: bool) -> Result<Vec<Finding>> {
    let records: Vec<String> = (lease::list_records(ws)?.into_iter())
        .map(|r| r.worker_id)
        .collect();
    let mut findings = Vec::new();
    for worker in workers {
        let held = store::count_files(&ws.assigned(worker))?;
        if held > 0 && !records.contains(worker) {
            findings.push(orphan_claims(ws, worker, held, fix)?);
        }
    }
    Ok(findings)
}

/// Finds the tasks in more than one state and (with `fix`) sets the extra copies aside, adding
/// a finding for each; returns the finished tasks, sorted by id, whose report is neither
/// published nor among `reports_in_tmp`.
fn duplicates(
    ws: &Workspace,
    workers: &[String],
    reports_in_tmp: &[String],
    fix: bool,
    findings: &mut Vec<Finding>,
) -> Result<Vec<(String, TaskState)>> {
    let (copies, mut finished_ids) = census(ws, workers)?;
    finished_ids.retain(|(id, _)| !copies.contains_key(id) && !reports_in_tmp.contains(id));
    finished_ids.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (id, places) in copies {
        let kept = set_aside_extra_copies(ws, &id, &places, fix, findings)?;
        if kept.is_finished() && !reports_in_tmp.contains(&id) {
            finished_ids.push((id, kept));
        }
    }
    Ok(finished_ids)
}

/// Each task id met more than once, with the state and path of every copy.
type Copies = BTreeMap<String, Vec<(TaskState, PathBuf)>>;

/// Every copy of each task met more than once, and every finished task. First look: one 64-bit
/// hash per copy, no id kept, so a million tasks cost little; a hash met twice makes its ids
/// suspects. Second look, only when there are suspects: the ids behind those hashes, counted,
/// so a copy is a duplicate only when its id is met twice.
fn census(ws: &Workspace, workers: &[String]) -> Result<(Copies, Vec<(String, TaskState)>)> {
    let states: Vec<TaskState> = TaskState::all_unheld()
        .chain(workers.iter().cloned().map(TaskState::Assigned))
        .collect();
    let mut seen: HashSet<u64, BuildHasherDefault<Prehashed>> = HashSet::default();
    let mut suspects: HashSet<u64, BuildHasherDefault<Prehashed>> = HashSet::default();
    let mut finished_ids: Vec<(String, TaskState)> = Vec::new();
    each_copy(ws, workers, |id, _, index| {
        let hash = id_hash(id);
        if !seen.insert(hash) {
            suspects.insert(hash);
        }
        if states[index].is_finished() {
            finished_ids.push((id.to_string(), states[index].clone()));
        }
    })?;
    drop(seen);
    let mut copies = Copies::new();
    if !suspects.is_empty() {
        each_copy(ws, workers, |id, place, index| {
            if suspects.contains(&id_hash(id)) {
                (copies.entry(id.to_string()).or_default())
                    .push((states[index].clone(), place.path()));
            }
        })?;
        copies.retain(|_, places| places.len() > 1);
    }
    Ok((copies, finished_ids))
}

/// Keeps one copy of task `id` and (with `fix`) sets the others aside, adding a finding for
/// each; returns the state of the copy kept. The copy an operator sent back most recently
/// (`coord retry`) wins, then the most advanced state; the state machine looks again under the
/// movers' locks first.
fn set_aside_extra_copies(
    ws: &Workspace,
    id: &str,
    places: &[(TaskState, PathBuf)],
    fix: bool,
    findings: &mut Vec<Finding>,
) -> Result<TaskState> {
    let mut kept_state = places[0].0.clone();
    let aside = state::set_aside_duplicates(ws, id, places, fix, |copies| {
        (0..copies.len())
            .max_by_key(|&i| {
                let (state, path) = &copies[i];
                let retries = task::read(path).map_or(0, |t| t.retries());
                (retries, rank(state))
            })
            .unwrap_or(0)
    })?;
    for a in aside {
        kept_state = a.kept.clone();
        findings.push(Finding {
            kind: Kind::Duplicate,
            path: a.path,
            message: format!(
                "{id} is also {}; the fix moves this {} copy to failed/{id}.duplicate",
                a.kept, a.state
            ),
            fixed: fix,
        });
    }
    Ok(kept_state)
}

/// The finished tasks among `finished_ids` without a report (with `fix`, rebuilt). A report may
/// be on its way: a dead letter's is published under the finished lock (held here when the
/// workspace can be locked at all), a completion's is whole in tmp/ from before its commit
/// until its publication. Only what is in neither place, looked at after the listing, is lost.
fn missing_reports(
    ws: &Workspace,
    finished_ids: Vec<(String, TaskState)>,
    fix: bool,
) -> Result<Vec<Finding>> {
    let finished = locks::finished(ws).ok();
    let mut in_flight = None;
    let mut findings = Vec::new();
    for (id, state) in finished_ids {
        let path = state::layout::settled_path(ws, &state, &id);
        if report_path(ws, &id).exists() || !path.exists() {
            continue;
        }
        let in_flight = match &mut in_flight {
            Some(set) => set,
            None => in_flight.insert(state::in_flight_reports(ws)?),
        };
        if in_flight.contains(&id) || report_path(ws, &id).exists() {
            continue;
        }
        let fixed = match (&finished, fix) {
            (Some(lock), true) => {
                state::rebuild_report(lock, ws, &id, &state)?;
                true
            }
            _ => false,
        };
        findings.push(Finding {
            kind: Kind::MissingReport,
            path,
            message: format!(
                "{id} is {state} but has no report; the fix writes one saying the original was lost"
            ),
            fixed,
        });
    }
    Ok(findings)
}

/// Blocked tasks whose dependencies have all finished (with `fix`, moved on).
fn stuck_blocked(ws: &Workspace, fix: bool) -> Result<Vec<Finding>> {
    let findings = (depends::stuck(ws)?.into_iter())
        .map(|(path, task)| Finding {
            kind: Kind::Blocked,
            path,
            message: format!(
                "{} waits in blocked/ though every task it depends on has finished (the process that finished the last one stopped first); the fix moves it to pending/ or, if one failed, to failed/",
                task.spec.id
            ),
            fixed: fix,
        })
        .collect();
    if fix {
        depends::settle_stuck(ws, "coord doctor")?;
    }
    Ok(findings)
}

/// Rejections a dead process cut short after its rewrite (with `fix`, finished).
fn cut_short_rejections(ws: &Workspace, fix: bool) -> Result<Vec<Finding>> {
    Ok((review::cut_short(ws, fix)?.into_iter())
        .map(|(path, id)| Finding {
            kind: Kind::InterruptedRejection,
            path,
            message: format!(
                "{id} was being rejected when its process died; the fix finishes the rejection"
            ),
            fixed: fix,
        })
        .collect())
}

/// Blocked tasks waiting for a task in no state (with `fix`, failed with a report).
fn never_runs(ws: &Workspace, fix: bool) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for name in store::list_files(&ws.blocked())? {
        let path = ws.blocked().join(&name);
        let Ok(task) = task::read(&path) else {
            continue;
        };
        let Some(missing) = depends::missing_dependency(ws, &task.spec.depends_on)? else {
            continue;
        };
        if fix {
            depends::fail_never_runs(ws, &path, &task, &missing, "coord doctor")?;
        }
        findings.push(Finding {
            kind: Kind::NeverRuns,
            path,
            message: format!(
                "{} waits for {missing}, which is in no state (never queued, or purged): it can never run; the fix moves it to failed/ with a report saying so",
                task.spec.id
            ),
            fixed: fix,
        });
    }
    Ok(findings)
}

/// Links, foreign owners and oversized task files anywhere in the workspace. Every entry's type
/// comes from its folder listing (no link is followed, and a million task files cost one
/// listing each); owners are looked up for folders, coord's own small files and the task files
/// of every state folder, sizes for those task files (a batch folder's are left to the claim,
/// which sets an oversized one aside with its reason).
fn planted(ws: &Workspace) -> Vec<Finding> {
    let mut findings = Vec::new();
    let me = rustix::process::geteuid().as_raw();
    let owner_ok = |meta: &std::fs::Metadata| {
        use std::os::unix::fs::MetadataExt;
        meta.uid() == me || meta.uid() == 0 || ws.shared_group() == Some(meta.gid())
    };
    let bulky = [ws.completed(), ws.failed(), ws.reports(), ws.task_logs()];
    let sized_folders = [
        ws.pending(),
        ws.blocked(),
        ws.waiting(),
        ws.review(),
        ws.completed(),
        ws.failed(),
    ];
    let mut stack = vec![(ws.root().to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let in_bulk = bulky.iter().any(|b| dir.starts_with(b));
        let sized =
            sized_folders.contains(&dir) || dir.parent() == Some(ws.assigned_root().as_path());
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let finding = |kind: Kind, message: String| Finding {
                kind,
                path: path.clone(),
                message,
                fixed: false,
            };
            if kind.is_symlink() {
                findings.push(finding(
                    Kind::Link,
                    "is a symbolic link: coord never follows one (a move through it fails); remove it and, for a folder, make it again with `coord init`".into(),
                ));
                continue;
            }
            let look = kind.is_dir() || !in_bulk || sized;
            if let Some(meta) = look
                .then(|| std::fs::symlink_metadata(&path).ok())
                .flatten()
            {
                if !owner_ok(&meta) {
                    use std::os::unix::fs::MetadataExt;
                    findings.push(finding(
                        Kind::ForeignOwner,
                        format!("belongs to uid {}, not to this user or the workspace's group: another user could change what coord reads here", meta.uid()),
                    ));
                }
                if sized && meta.is_file() && meta.len() > task::MAX_TASK_FILE_BYTES {
                    findings.push(finding(
                        Kind::Oversized,
                        format!("is {} bytes, over the {}-byte limit of a task file: no worker reads it", meta.len(), task::MAX_TASK_FILE_BYTES),
                    ));
                }
            }
            if kind.is_dir() && depth < 4 {
                stack.push((path, depth + 1));
            }
        }
    }
    findings
}

/// Folders in pending/ that are not batch folders but hold pending tasks (a batch folder renamed
/// by hand): their tasks would never run. The fix names each as a batch folder again.
fn stray_folders(ws: &Workspace, fix: bool) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for (folder, names) in store::stray_pending_folders(ws)? {
        let Some(first) = names.first() else {
            continue;
        };
        let path = ws.pending().join(&folder);
        let message = match fix {
            true => format!(
                "holds {} pending task(s) no worker reads; renamed to pending/{}",
                names.len(),
                state::restore_batch(ws, &folder, first)?
            ),
            false => format!(
                "holds {} pending task(s) no worker reads (a batch folder renamed by hand?); the fix names it as a batch folder again",
                names.len()
            ),
        };
        findings.push(Finding {
            kind: Kind::StrayFolder,
            path,
            message,
            fixed: fix,
        });
    }
    Ok(findings)
}

/// What the file system probe says is unsafe.
pub fn filesystem_findings(ws: &Workspace, probe: &fsinfo::Probe) -> Vec<Finding> {
    let mut found = Vec::new();
    if !probe.rename_exclusive {
        found.push(Finding {
            kind: Kind::Filesystem,
            path: ws.root().to_path_buf(),
            message: format!(
                "on this {} file system a name renamed away could be renamed again: two workers could claim one task; use a file system with atomic rename",
                probe.filesystem
            ),
            fixed: false,
        });
    }
    if !probe.locks_exclude && !probe.shared {
        found.push(Finding {
            kind: Kind::Filesystem,
            path: ws.root().to_path_buf(),
            message: "flock does not exclude here: a dead worker cannot be told from a live one by its lock; run workers with a lease instead (see docs/multi-host.md)".into(),
            fixed: false,
        });
    }
    found
}

fn orphan_claims(ws: &Workspace, worker: &str, held: usize, fix: bool) -> Result<Finding> {
    let reason = format!(
        "held by worker {worker}, which has no record: nobody can renew or recover its claims"
    );
    if fix {
        recover::recover_worker(ws, worker, &reason, &[])?;
    }
    Ok(Finding {
        kind: Kind::OrphanClaims,
        path: ws.assigned(worker),
        message: format!("{held} task(s) {reason}; the fix returns them to pending/"),
        fixed: fix,
    })
}

/// Where one copy of a task is: its folder, the batch folder inside it (pending/ only) and its
/// file name; the path is built only when asked for.
struct Place<'a> {
    folder: &'a Path,
    batch: Option<&'a str>,
    file: &'a str,
}

impl Place<'_> {
    fn path(&self) -> PathBuf {
        self.folder
            .join(store::pending_name_in(self.batch, self.file))
    }
}

/// Calls `each` with every copy of a task in the state folders: its id, its place and its state
/// (an index: pending, blocked, waiting, review, completed, failed, then each of `workers`).
fn each_copy(
    ws: &Workspace,
    workers: &[String],
    mut each: impl FnMut(&str, &Place<'_>, usize),
) -> Result<()> {
    let pending = ws.pending();
    store::each_pending(ws, |batch, file| {
        let place = Place {
            folder: &pending,
            batch,
            file,
        };
        // A coord name carries the id after the order; a file dropped in by hand is read.
        match task::id_from_pending_name(file) {
            Some(id) => each(id, &place, 0),
            None => {
                if let Ok(t) = task::read(&place.path()) {
                    each(&t.spec.id, &place, 0);
                }
            }
        }
    })?;
    let mut folders = vec![
        (1, ws.blocked()),
        (2, ws.waiting()),
        (3, ws.review()),
        (4, ws.completed()),
        (5, ws.failed()),
    ];
    folders.extend(
        workers
            .iter()
            .enumerate()
            .map(|(i, w)| (6 + i, ws.assigned(w))),
    );
    for (index, dir) in folders {
        for name in store::list_files(&dir)? {
            if let Some(id) = name.strip_suffix(".json") {
                let place = Place {
                    folder: &dir,
                    batch: None,
                    file: &name,
                };
                each(id, &place, index);
            }
        }
    }
    Ok(())
}

/// A 64-bit hash of a task id (FNV-1a): cheap, and only a hint; ids are compared when it
/// matches.
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes
            .iter()
            .fold(self.0, |h, b| h.rotate_left(8) ^ u64::from(*b));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

//! The queue in process: claim, report and complete through the library, no process per task.
//!
//! Prints one JSON object per figure on stdout, for bench/run.py. Also measures the physical
//! floors the CLI figures are compared with: publishing one file (create, write, close, rename
//! without replace) and spawning `true`.
//!
//! Usage: cargo bench --bench queue -- [DIR] [TASKS]

use std::path::Path;
use std::time::Instant;

use coord::model::report::{Report, Status};
use coord::policy::claim::{Claimed, Claimer};
use coord::state::{self, locks};
use coord::{Workspace, model::task, verbs::queue};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let base = args.first().map_or("/dev/shm", String::as_str).to_string();
    let tasks: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    for fsync in [false, true] {
        let rate = drain_in_process(Path::new(&base), tasks, 2, fsync);
        emit(
            "in-process drain, 2 threads",
            if fsync { "fsync on" } else { "fsync off" },
            rate,
            "tasks/s",
        );
    }
    emit(
        "floor: publish one file",
        "create+write+close+renameat2",
        publish_floor(Path::new(&base)),
        "us",
    );
    emit(
        "floor: spawn true",
        "posix_spawn + wait",
        spawn_floor(),
        "ms",
    );
}

fn emit(name: &str, variant: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({"bench": name, "variant": variant, "value": value, "unit": unit})
    );
}

fn drain_in_process(base: &Path, tasks: usize, threads: usize, fsync: bool) -> f64 {
    let dir = tempfile::Builder::new()
        .prefix("coord-bench-")
        .tempdir_in(base)
        .unwrap();
    coord::state::layout::init(dir.path(), None).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".coord/config.json")).unwrap())
            .unwrap();
    config["fsync"] = serde_json::json!(fsync);
    std::fs::write(dir.path().join(".coord/config.json"), config.to_string()).unwrap();
    let ws = Workspace::open(&dir.path().join(".coord")).unwrap();
    let input: String = (0..tasks)
        .map(|i| format!("{{\"id\":\"b{i:06}\",\"description\":\"bench\"}}\n"))
        .collect();
    queue::enqueue(&ws, task::parse_tasks(&input).unwrap()).unwrap();
    let start = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ws = &ws;
                s.spawn(move || {
                    let worker = format!("bench-{t}");
                    std::fs::create_dir_all(ws.assigned(&worker)).unwrap();
                    let mut claimer = Claimer::new(ws, &worker, &[]);
                    claimer.refresh().unwrap();
                    let mut done = 0;
                    while let Some(Claimed::Task(c)) = claimer.next(ws, None).unwrap() {
                        let mut report = Report::recorded(
                            &c.task.spec.id,
                            &worker,
                            Status::Completed,
                            c.attempt,
                            None,
                        );
                        report.exit_code = Some(0);
                        let lock = locks::claims(ws, &worker).unwrap();
                        state::complete(&lock, ws, &c.path, &report).unwrap();
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(done, tasks, "every task completed once");
    assert_eq!(std::fs::read_dir(ws.completed()).unwrap().count(), tasks);
    tasks as f64 / secs
}

fn publish_floor(base: &Path) -> f64 {
    let dir = tempfile::Builder::new()
        .prefix("coord-floor-")
        .tempdir_in(base)
        .unwrap();
    let src = coord::fs::durable::Dir::open(dir.path()).unwrap();
    std::fs::create_dir(dir.path().join("dst")).unwrap();
    let dst = coord::fs::durable::Dir::open(&dir.path().join("dst")).unwrap();
    let bytes = vec![b'x'; 300];
    let n = 20_000;
    let start = Instant::now();
    for i in 0..n {
        let name = format!("f{i}");
        src.create_new(&name, &bytes, false).unwrap();
        assert!(src.move_new(&name, &dst, &name).unwrap());
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn spawn_floor() -> f64 {
    let n = 2_000;
    let start = Instant::now();
    for _ in 0..n {
        let status = std::process::Command::new("true").status().unwrap();
        assert!(status.success());
    }
    start.elapsed().as_secs_f64() * 1e3 / f64::from(n)
}

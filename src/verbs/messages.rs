//! Messages between workers and the coordinator, in files: each inbox is a Maildir-like folder
//! (`messages/coordinator/` or `messages/workers/<id>/`) with `new/` for unread messages and
//! `cur/` for read ones. A message is one file a person can read: one line of JSON (the header),
//! a blank line, then the text.
//!
//! Sending writes the whole file to tmp/ (flushed), then links it, never replacing, into each
//! recipient's `new/`, then removes the temp name: a message is never seen half-written, and a
//! crash leaves it delivered to some recipients and a temp file the leftovers sweep removes.
//! Marking read is one rename from `new/` to `cur/`; a reader shows a message before marking
//! it, so a crash in between shows it again (at least once), never loses it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::crashpoint;
use crate::base::error::{Error, Result};
use crate::base::host;
use crate::base::ids;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::policy::lease;
use crate::state::store;

/// The largest message text, in bytes (64 KiB).
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// The name a coordinator goes by as a sender and as a recipient.
pub const COORDINATOR: &str = "coordinator";

/// Whose inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbox {
    /// The coordinator's: what workers send to `coordinator`, and their feedback.
    Coordinator,
    /// A worker's.
    Worker(String),
}

impl Inbox {
    /// The inbox of `name`: the coordinator's for `coordinator`, else a worker's (id checked).
    pub fn of(name: &str) -> Result<Inbox> {
        if name == COORDINATOR {
            return Ok(Inbox::Coordinator);
        }
        ids::check_worker_id(name)?;
        Ok(Inbox::Worker(name.to_string()))
    }

    /// The inbox's folder.
    pub fn folder(&self, ws: &Workspace) -> PathBuf {
        match self {
            Inbox::Coordinator => ws.messages().join(COORDINATOR),
            Inbox::Worker(w) => ws.messages().join("workers").join(w),
        }
    }

    /// Its owner's name.
    pub fn name(&self) -> &str {
        match self {
            Inbox::Coordinator => COORDINATOR,
            Inbox::Worker(w) => w,
        }
    }
}

/// What kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A message (`coord send`).
    Message,
    /// A worker's feedback for the coordinator (`coord feedback`).
    Feedback,
}

names!(Kind {
    Message => "message",
    Feedback => "feedback",
});

/// A message's header: its first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// The version of this header's shape.
    pub schema_version: u32,
    /// Who sent it: a worker id or `coordinator`.
    pub from: String,
    /// Who it was sent to: a worker id, `coordinator` or `all`.
    pub to: String,
    /// A message or feedback.
    pub kind: Kind,
    /// The task it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When it was sent (the sender's clock).
    #[serde(with = "crate::base::time::ms")]
    pub sent_at: jiff::Timestamp,
}

/// A message as read from an inbox.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Its file name in the inbox: sorted names are sending order.
    #[serde(rename = "messageId")]
    pub id: String,
    /// The header.
    #[serde(flatten)]
    pub header: Header,
    /// The text.
    pub text: String,
    /// Whether it had been read before this look.
    pub read: bool,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// One inbox.
    One(Inbox),
    /// Every worker that has a record.
    All,
}

impl To {
    /// Parses a recipient: `all`, `coordinator` or a worker id.
    pub fn parse(text: &str) -> Result<To> {
        match text {
            "all" => Ok(To::All),
            other => Inbox::of(other).map(To::One),
        }
    }
}

/// Sends `text` from `from` to `to`; returns the inboxes it was delivered to.
pub fn send(
    ws: &Workspace,
    from: &str,
    to: &To,
    kind: Kind,
    task: Option<&str>,
    text: &str,
) -> Result<Vec<Inbox>> {
    Inbox::of(from)?;
    if let Some(id) = task {
        task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    }
    if text.trim().is_empty() {
        return Err(Error::Invalid("the message is empty".to_string()));
    }
    if text.len() > MAX_BODY_BYTES {
        return Err(Error::Invalid(format!(
            "the message is {} bytes; the limit is {MAX_BODY_BYTES}: put long text in a file and send its path",
            text.len()
        )));
    }
    let inboxes = match to {
        To::One(inbox) => {
            if unread_count(ws, inbox) >= MAX_UNREAD {
                return Err(Error::StateConflict {
                    message: format!(
                        "{}'s inbox holds {MAX_UNREAD} unread messages, the most it keeps; nothing was sent",
                        inbox.name()
                    ),
                    hint: format!(
                        "wait for {0} to read them (`coord inbox --worker {0}` reads them)",
                        inbox.name()
                    ),
                });
            }
            vec![inbox.clone()]
        }
        // A broadcast skips the inboxes that are full.
        To::All => lease::list_records(ws)?
            .into_iter()
            .map(|r| Inbox::Worker(r.worker_id))
            .filter(|i| i.name() != from && unread_count(ws, i) < MAX_UNREAD)
            .collect(),
    };
    let header = Header {
        schema_version: 1,
        from: from.to_string(),
        to: match to {
            To::One(i) => i.name().to_string(),
            To::All => "all".to_string(),
        },
        kind,
        task_id: task.map(str::to_string),
        sent_at: host::now(),
    };
    let mut bytes = serde_json::to_vec(&header).expect("headers serialize");
    bytes.extend_from_slice(b"\n\n");
    bytes.extend_from_slice(text.as_bytes());
    if !text.ends_with('\n') {
        bytes.push(b'\n');
    }
    let micros = header.sent_at.as_microsecond().max(0);
    let name = format!("{micros:016}.{}.msg", durable::unique_stem());
    let tmp = durable::write_tmp(&ws.tmp(), "message", &bytes, ws.durability())?;
    crashpoint::reached("message", "written");
    let delivered = deliver(ws, &tmp, &name, &inboxes);
    let _ = durable::remove_if_exists(&tmp);
    delivered?;
    Ok(inboxes)
}

/// The most unread messages an inbox keeps: a send to a full inbox is refused.
pub const MAX_UNREAD: usize = 200;

/// How many unread messages `inbox` holds.
fn unread_count(ws: &Workspace, inbox: &Inbox) -> usize {
    store::count_files(&inbox.folder(ws).join("new")).unwrap_or(0)
}

fn deliver(ws: &Workspace, tmp: &Path, name: &str, inboxes: &[Inbox]) -> Result<()> {
    let tmp_dir = durable::Dir::open(&ws.tmp())?;
    let tmp_name = tmp
        .file_name()
        .and_then(|n| n.to_str())
        .expect("temp names are UTF-8");
    for inbox in inboxes {
        let new = inbox.folder(ws).join("new");
        durable::create_dir(&new)?;
        durable::create_dir(&inbox.folder(ws).join("cur"))?;
        let dir = durable::Dir::open(&new)?;
        tmp_dir.link_new(tmp_name, &dir, name)?;
        durable::sync_dir(&new, ws.durability())?;
        crashpoint::reached("message", "delivered");
    }
    Ok(())
}

/// Reads the messages in `inbox`, oldest first: the unread ones, and with `all` the read ones
/// too. Nothing is marked read ([`mark_read`] does that).
pub fn read(ws: &Workspace, inbox: &Inbox, all: bool) -> Result<Vec<Message>> {
    let mut found = Vec::new();
    let folders = [("new", false), ("cur", true)];
    for (sub, read) in folders.into_iter().take(if all { 2 } else { 1 }) {
        let dir = inbox.folder(ws).join(sub);
        for name in store::list_files(&dir)? {
            let Some(id) = name.strip_suffix(".msg") else {
                continue;
            };
            if let Some(m) = parse(&dir.join(&name), id, read) {
                found.push(m);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

fn parse(path: &Path, id: &str, read: bool) -> Option<Message> {
    let bytes = durable::read_limited(path, (MAX_BODY_BYTES + 4096) as u64).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (head, body) = text.split_once("\n\n")?;
    let header: Header = serde_json::from_str(head).ok()?;
    Some(Message {
        id: id.to_string(),
        header,
        text: body.strip_suffix('\n').unwrap_or(body).to_string(),
        read,
    })
}

/// Marks `messages` of `inbox` read: one rename each from `new/` to `cur/`. A message another
/// reader marked first is left as it is.
pub fn mark_read(ws: &Workspace, inbox: &Inbox, messages: &[Message]) -> Result<()> {
    let folder = inbox.folder(ws);
    for m in messages.iter().filter(|m| !m.read) {
        let name = format!("{}.msg", m.id);
        match durable::move_noreplace(
            &folder.join("new").join(&name),
            &folder.join("cur").join(&name),
        ) {
            Ok(())
            | Err(durable::MoveError::SourceGone)
            | Err(durable::MoveError::DestinationExists) => {}
            Err(durable::MoveError::Other(e)) => return Err(Error::io("mark read", &folder, e)),
        }
    }
    Ok(())
}

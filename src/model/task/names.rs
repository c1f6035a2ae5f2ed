//! Names of task files in queue folders: the ordering key and the id inside a pending name.

use super::check_id;
use crate::fs::durable;

/// The name of a task in pending/: `<order>.<id>.json`, so a sorted listing is claim order.
pub fn pending_name(order: &str, id: &str) -> String {
    format!("{order}.{id}.json")
}

/// Length of the ordering key at the start of a pending name.
pub const ORDER_LEN: usize = 10 + 1 + 16 + 1 + 6;

/// The ordering key for a task: inverted priority (higher first), queue time, index in batch.
pub fn order_key(priority: i32, queued_micros: u64, index: u32) -> String {
    let inverted = (i64::from(i32::MAX) - i64::from(priority)) as u64;
    format!(
        "{inverted:010}-{queued_micros:016}-{:06}",
        index % 1_000_000
    )
}

/// The task id in a pending name written by coord, or None for any other name. The name may
/// stand inside a batch folder (`<batch>/<order>.<id>.json`).
pub fn id_from_pending_name(name: &str) -> Option<&str> {
    let name = match name.split_once('/') {
        Some((batch, inner)) if is_batch_name(batch) => inner,
        Some(_) => return None,
        None => name,
    };
    let rest = name.strip_suffix(".json")?;
    if rest.len() <= ORDER_LEN + 1 || rest.as_bytes()[ORDER_LEN] != b'.' {
        return None;
    }
    let (order, id) = rest.split_at(ORDER_LEN);
    let id = &id[1..];
    (well_formed_order(order) && check_id(id).is_ok()).then_some(id)
}

fn well_formed_order(order: &str) -> bool {
    order.len() == ORDER_LEN
        && order.bytes().enumerate().all(|(i, b)| {
            if i == 10 || i == 27 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// What follows the ordering key in the name of a batch folder in pending/.
const BATCH_INFIX: &str = ".batch-";

/// The name of a batch folder in pending/: the ordering key of its first task (so it sorts no
/// later than anything inside it), then a random tag: `<order>.batch-<16 hex digits>`.
pub fn batch_name(first_order: &str, tag: u64) -> String {
    format!("{first_order}{BATCH_INFIX}{tag:016x}")
}

/// Whether `name` is the name of a batch folder in pending/ ([`batch_name`]).
pub fn is_batch_name(name: &str) -> bool {
    name.len() == ORDER_LEN + BATCH_INFIX.len() + 16
        && well_formed_order(&name[..ORDER_LEN])
        && name[ORDER_LEN..].starts_with(BATCH_INFIX)
        && name[ORDER_LEN + BATCH_INFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The file name of a pending entry, without the batch folder it may stand in; it sorts in
/// claim order against every other pending file name.
pub fn pending_file_name(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, file)| file)
}

/// Whether a name in a queue folder is to be ignored (hidden files and temp files).
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(durable::TMP_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_names_round_trip() {
        let order = order_key(5, 1_764_092_093_123_456, 7);
        let name = pending_name(&order, "task-001");
        assert_eq!(id_from_pending_name(&name), Some("task-001"));
        assert_eq!(id_from_pending_name("task-001.json"), None);
        let batch = batch_name(&order, 0xfeed);
        assert!(is_batch_name(&batch));
        assert!(!is_batch_name(&name));
        let inner = format!("{batch}/{name}");
        assert_eq!(id_from_pending_name(&inner), Some("task-001"));
        assert_eq!(pending_file_name(&inner), name);
        assert_eq!(id_from_pending_name(&format!("x/{name}")), None);
        assert_eq!(id_from_pending_name(&format!("{batch}/../{name}")), None);
    }

    #[test]
    fn higher_priority_sorts_first() {
        let high = order_key(10, 2, 0);
        let low = order_key(-3, 1, 0);
        let default = order_key(0, 1, 0);
        assert!(high < default && default < low);
    }
}

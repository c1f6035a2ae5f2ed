//! Names of task files in queue folders: the ordering key and the id inside a pending name.

use super::check_id;

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

/// The task id in a pending name written by coord, or None for any other name.
pub fn id_from_pending_name(name: &str) -> Option<&str> {
    let rest = name.strip_suffix(".json")?;
    if rest.len() <= ORDER_LEN + 1 || rest.as_bytes()[ORDER_LEN] != b'.' {
        return None;
    }
    let (order, id) = rest.split_at(ORDER_LEN);
    let id = &id[1..];
    let well_formed = order.bytes().enumerate().all(|(i, b)| {
        if i == 10 || i == 27 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    (well_formed && check_id(id).is_ok()).then_some(id)
}

/// Whether a name in a queue folder is to be ignored (hidden files and temp files).
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(crate::durable::TMP_SUFFIX)
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
    }

    #[test]
    fn higher_priority_sorts_first() {
        let high = order_key(10, 2, 0);
        let low = order_key(-3, 1, 0);
        let default = order_key(0, 1, 0);
        assert!(high < default && default < low);
    }
}

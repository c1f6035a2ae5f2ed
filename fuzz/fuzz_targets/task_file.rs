//! Fuzzes the two readers of user input: a task file in pending/ and a tasks file given to
//! `coord queue`. Neither may panic; a file coord accepts must read back identical after coord
//! writes it.
#![no_main]

use coord::task::{self, TaskFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = TaskFile::parse(data) {
        let again = TaskFile::parse(&file.to_bytes()).expect("a written task file reads back");
        assert_eq!(again, file);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(tasks) = task::parse_tasks(text) {
            for t in tasks {
                assert!(t.spec.id.is_empty() || task::check_id(&t.spec.id).is_ok());
            }
        }
    }
});

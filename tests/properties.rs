//! Property tests of the task parser and of the id and path rules that keep every name coord
//! derives from user input inside its folder.

use std::path::{Component, Path};

use coord::model::task::{self, TaskFile};
use proptest::prelude::*;

fn valid_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any accepted id is one plain file-name component: no separator, no `..`, no control.
    #[test]
    fn an_accepted_id_names_one_file_in_its_folder(id in "\\PC{0,40}|[A-Za-z0-9./\\\\_-]{0,40}") {
        if task::check_id(&id).is_ok() {
            let mut parts = Path::new(&id).components();
            prop_assert!(matches!(parts.next(), Some(Component::Normal(_))));
            prop_assert!(parts.next().is_none());
            prop_assert!(!id.contains('/') && !id.starts_with('.'));
            prop_assert!(!id.chars().any(char::is_control));
        }
    }

    /// Ids with a separator, a control character or a leading dot are always refused.
    #[test]
    fn ids_with_separators_or_controls_are_refused(
        left in "[a-z0-9]{0,10}",
        bad in prop::sample::select(vec!["/", "\\", "\n", "\t", "\u{0}", "\u{7f}", " "]),
        right in "[a-z0-9]{0,10}",
    ) {
        let id = format!("{left}{bad}{right}");
        prop_assert!(task::check_id(&id).is_err());
        let hidden = format!(".{left}");
        let parent = format!("..{right}");
        prop_assert!(task::check_id(&hidden).is_err());
        prop_assert!(task::check_id(&parent).is_err());
    }

    /// Any accepted project path, joined to a project, stays inside it.
    #[test]
    fn an_accepted_path_stays_inside_the_project(path in "\\PC{0,30}|(\\.\\.|\\.|[a-z]{1,3}|/){1,8}") {
        if task::check_project_path(&path).is_ok() {
            // Only names go down: no root, no prefix, no `..` anywhere.
            for part in Path::new(&path).components() {
                match part {
                    Component::Normal(_) | Component::CurDir => {}
                    other => prop_assert!(false, "{path:?} has {other:?}"),
                }
            }
            let joined = Path::new("/project").join(&path);
            prop_assert!(joined.starts_with("/project"), "{path:?} leaves: {}", joined.display());
        }
    }

    /// The parser never panics, whatever the bytes; it either accepts or says what is wrong.
    #[test]
    fn task_files_of_any_bytes_parse_or_are_refused_with_a_reason(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(reason) = TaskFile::parse(&bytes) {
            prop_assert!(!reason.is_empty());
        }
    }

    /// A tasks file of any text never panics the reader; a refusal names at least one problem.
    #[test]
    fn tasks_files_of_any_text_are_read_or_refused(text in "\\PC{0,200}|[\\[\\]{}\",:a-z0-9 \n]{0,200}") {
        if let Err(problems) = task::parse_tasks(&text) {
            prop_assert!(!problems.is_empty());
        }
    }

    /// Valid tasks, written as an array or as JSON Lines, read back in order with their fields.
    #[test]
    fn valid_tasks_round_trip_in_either_format(
        tasks in prop::collection::vec((valid_id(), "[a-z]\\PC{0,40}", -5i32..5, prop::option::of("[a-z][a-z ]{0,20}")), 1..8)
    ) {
        let mut seen = std::collections::HashSet::new();
        let tasks: Vec<_> = tasks.into_iter().filter(|t| seen.insert(t.0.clone())).collect();
        let values: Vec<serde_json::Value> = tasks
            .iter()
            .map(|(id, description, priority, command)| {
                let mut v = serde_json::json!({"id": id, "description": description, "priority": priority});
                if let Some(c) = command {
                    v["command"] = c.clone().into();
                }
                v
            })
            .collect();
        let array = serde_json::to_string(&values).unwrap();
        let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
        for input in [array, lines] {
            let parsed = task::parse_tasks(&input).map_err(|p| format!("{p:?}"));
            prop_assert!(parsed.is_ok(), "{:?}", parsed);
            let parsed = parsed.unwrap();
            prop_assert_eq!(parsed.len(), tasks.len());
            for (p, (id, description, priority, command)) in parsed.iter().zip(&tasks) {
                prop_assert_eq!(&p.spec.id, id);
                prop_assert_eq!(&p.spec.description, description);
                prop_assert_eq!(p.spec.priority, Some(*priority));
                prop_assert_eq!(&p.spec.command, command);
            }
        }
    }

    /// A task file written by coord reads back identical.
    #[test]
    fn task_files_round_trip(id in valid_id(), description in "[A-Z]\\PC{0,60}", extra in "\\PC{0,20}") {
        let text = serde_json::json!({"id": id, "description": description, "x-extra": extra}).to_string();
        let file = TaskFile::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(TaskFile::parse(&file.to_bytes()).unwrap(), file);
    }

    /// A pending name gives back its id, and sorted names are claim order: higher priority
    /// first, then earlier queue time, then position in the batch.
    #[test]
    fn pending_names_sort_in_claim_order(
        a in (any::<i32>(), 0u64..10_000_000_000_000_000, 0u32..1_000_000, valid_id()),
        b in (any::<i32>(), 0u64..10_000_000_000_000_000, 0u32..1_000_000, valid_id()),
    ) {
        let name = |(priority, micros, index, id): &(i32, u64, u32, String)| {
            task::pending_name(&task::order_key(*priority, *micros, *index), id)
        };
        let (na, nb) = (name(&a), name(&b));
        prop_assert_eq!(task::id_from_pending_name(&na), Some(a.3.as_str()));
        let key = |t: &(i32, u64, u32, String)| (std::cmp::Reverse(t.0), t.1, t.2);
        if key(&a) < key(&b) {
            prop_assert!(na < nb, "{na} should sort before {nb}");
        }
    }
}

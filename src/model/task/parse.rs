//! Reading a tasks file: a JSON array, one object, or JSON Lines, every task validated.

use serde_json::Value;

use super::{STATE_KEY, Spec, validate_object};
use crate::base::error::Problem;

/// One task read from a tasks file, before it is queued.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Where it stood in the input ("task 2", "line 5").
    pub position: String,
    /// The validated spec (its id is empty when the input gave none).
    pub spec: Spec,
}

/// One task of a tasks file as read, validated on its own.
#[derive(Debug)]
pub struct Item {
    /// Where it stands in the input ("task 2", "line 5").
    pub position: String,
    /// The `id` it gives, if it is a string.
    pub id: Option<String>,
    /// The spec, or what is wrong with the task.
    pub spec: Result<Spec, Vec<String>>,
}

/// Calls `each` with every task of a tasks file (a JSON array, one object, or JSON Lines), in
/// order, holding one task in memory at a time. Ids used twice are for the caller to find. Input
/// that is not JSON stops the reading with that problem; the tasks before it were handed over.
pub fn each_task(input: &str, mut each: impl FnMut(Item)) -> Result<usize, Problem> {
    let rest = input.trim_start();
    if rest.starts_with('[') {
        use serde::Deserializer as _;
        let mut de = serde_json::Deserializer::from_str(input);
        let mut count = 0;
        let read = de
            .deserialize_seq(Elements {
                each: &mut |value| {
                    count += 1;
                    each(item(format!("task {count}"), value));
                },
            })
            .and_then(|()| de.end());
        return match read {
            Ok(()) => Ok(count),
            Err(e) => Err(not_json(&e)),
        };
    }
    let mut stream = serde_json::Deserializer::from_str(input).into_iter::<Value>();
    let mut lines = LineCounter::default();
    let mut count = 0;
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => return Ok(count),
            Some(Ok(value)) => {
                let line = lines.line_at(input, start);
                // A file of one object gives its task's position as "task 1".
                let alone = count == 0 && input[stream.byte_offset()..].trim().is_empty();
                let position = match alone {
                    true => "task 1".to_string(),
                    false => format!("line {line}"),
                };
                count += 1;
                each(item(position, value));
            }
            Some(Err(e)) => return Err(not_json(&e)),
        }
    }
}

fn not_json(e: &serde_json::Error) -> Problem {
    Problem {
        position: format!("line {}", e.line()),
        id: None,
        message: format!("not valid JSON: {e}"),
    }
}

/// Validates one value read from a tasks file.
fn item(position: String, value: Value) -> Item {
    let Value::Object(obj) = value else {
        return Item {
            position,
            id: None,
            spec: Err(vec!["a task must be a JSON object".into()]),
        };
    };
    let id = obj.get("id").and_then(Value::as_str).map(str::to_string);
    let reserved = obj.contains_key(STATE_KEY);
    let spec = match (validate_object(obj, false), reserved) {
        (Ok(spec), false) => Ok(spec),
        (Ok(_), true) => Err(Vec::new()),
        (Err(ms), _) => Err(ms),
    }
    .map_err(|mut ms| {
        if reserved {
            ms.insert(
                0,
                format!("`{STATE_KEY}` is reserved for coord's own state"),
            );
        }
        ms
    });
    Item { position, id, spec }
}

/// The elements of a JSON array, each handed over as soon as it is read.
struct Elements<'f> {
    each: &'f mut dyn FnMut(Value),
}

impl<'de> serde::de::Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of tasks")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            (self.each)(value);
        }
        Ok(())
    }
}

/// Reads a tasks file: a JSON array of tasks, one task object, or JSON Lines.
///
/// Every task is validated; on any problem, all problems are returned and none of the tasks.
pub fn parse_tasks(input: &str) -> Result<Vec<Parsed>, Vec<Problem>> {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let read = each_task(input, |Item { position, id, spec }| {
        let mut messages = match spec {
            Ok(_) => Vec::new(),
            Err(ref ms) => ms.clone(),
        };
        if let Some(id) = &id
            && let Some(first) = seen.insert(id.clone(), position.clone())
        {
            messages.push(format!("id {id:?} is used twice (first at {first})"));
        }
        match spec {
            Ok(spec) if messages.is_empty() => parsed.push(Parsed { position, spec }),
            _ => problems.extend(messages.into_iter().map(|message| Problem {
                position: position.clone(),
                id: id.clone(),
                message,
            })),
        }
    });
    match read {
        Err(problem) => problems.push(problem),
        Ok(0) if problems.is_empty() => problems.push(no_tasks()),
        Ok(_) => {}
    }
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

/// The problem of an input that holds no task.
pub fn no_tasks() -> Problem {
    Problem {
        position: "input".into(),
        id: None,
        message: "no tasks found (expected a JSON array, an object, or JSON Lines)".into(),
    }
}

/// Line numbers of byte offsets met in increasing order, counted once over the input.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    /// The 1-based line of the first non-blank character at or after `offset`.
    fn line_at(&mut self, input: &str, offset: usize) -> usize {
        let rest = &input[offset..];
        let target = offset + (rest.len() - rest.trim_start().len());
        self.line += input.as_bytes()[self.offset..target]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = target;
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_positions_are_lines() {
        let input = "{\"id\":\"a\",\"description\":\"x\"}\n{\"id\":\"b\"}\n";
        let problems = parse_tasks(input).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].position, "line 2");
        assert_eq!(problems[0].id.as_deref(), Some("b"));
    }
}

//! Reading a tasks file: a JSON array, one object, or JSON Lines, every task validated.

use serde_json::Value;

use super::{STATE_KEY, Spec, validate_object};
use crate::error::Problem;

/// One task read from a tasks file, before it is queued.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Where it stood in the input ("task 2", "line 5").
    pub position: String,
    /// The validated spec (its id is empty when the input gave none).
    pub spec: Spec,
}

/// Reads a tasks file: a JSON array of tasks, one task object, or JSON Lines.
///
/// Every task is validated; on any problem, all problems are returned and none of the tasks.
pub fn parse_tasks(input: &str) -> Result<Vec<Parsed>, Vec<Problem>> {
    let mut items: Vec<(String, Value)> = Vec::new();
    let mut problems = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(input).into_iter::<Value>();
    let mut values = Vec::new();
    let mut lines = LineCounter::default();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(v)) => values.push((lines.line_at(input, start), v)),
            Some(Err(e)) => {
                problems.push(Problem {
                    position: format!("line {}", e.line()),
                    id: None,
                    message: format!("not valid JSON: {e}"),
                });
                break;
            }
        }
    }
    if values.len() == 1 && values[0].1.is_array() {
        let Some((_, Value::Array(arr))) = values.pop() else {
            unreachable!("checked to be an array")
        };
        for (i, v) in arr.into_iter().enumerate() {
            items.push((format!("task {}", i + 1), v));
        }
    } else {
        let jsonl = values.len() > 1;
        for (line, v) in values {
            let position = if jsonl {
                format!("line {line}")
            } else {
                "task 1".to_string()
            };
            items.push((position, v));
        }
    }
    if items.is_empty() && problems.is_empty() {
        problems.push(Problem {
            position: "input".into(),
            id: None,
            message: "no tasks found (expected a JSON array, an object, or JSON Lines)".into(),
        });
    }
    let mut parsed = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (position, value) in items {
        let Value::Object(obj) = value else {
            problems.push(Problem {
                position,
                id: None,
                message: "a task must be a JSON object".into(),
            });
            continue;
        };
        let id = obj.get("id").and_then(Value::as_str).map(str::to_string);
        let mut messages = Vec::new();
        if obj.contains_key(STATE_KEY) {
            messages.push(format!("`{STATE_KEY}` is reserved for coord's own state"));
        }
        let spec = match validate_object(obj, false) {
            Ok(spec) => Some(spec),
            Err(ms) => {
                messages.extend(ms);
                None
            }
        };
        if let Some(id) = &id
            && let Some(first) = seen.insert(id.clone(), position.clone())
        {
            messages.push(format!("id {id:?} is used twice (first at {first})"));
        }
        match spec {
            Some(spec) if messages.is_empty() => parsed.push(Parsed { position, spec }),
            _ => problems.extend(messages.into_iter().map(|message| Problem {
                position: position.clone(),
                id: id.clone(),
                message,
            })),
        }
    }
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
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

//! Finding the line of a key in the config text, for errors that name key and line.
//!
//! The TOML parser reports a byte span for syntax and type errors; checks made after parsing
//! (duplicate ids, a missing source table) only know the key path, so these helpers look the
//! key up in the text.

/// Line of the `[stream.<table>]` header of stream `index` named in `key`
/// (`stream[0].folder.path`), else of its `source = …` line; 1 if neither is found.
pub(super) fn source_table_line(text: &str, index: usize, key: &str) -> usize {
    let table = key.split('.').nth(1).unwrap_or("");
    let (mut seen, mut source_line) = (0usize, 1);
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line == "[[stream]]" {
            seen += 1;
        } else if seen == index + 1 {
            if line == format!("[stream.{table}]") {
                return n + 1;
            }
            if line.starts_with("source") {
                source_line = n + 1;
            }
        }
    }
    source_line
}

/// Line of the `index`-th `[[name]]` header (0-based), 1 if there is none.
pub(super) fn array_entry_line(text: &str, name: &str, index: usize) -> usize {
    let header = format!("[[{name}]]");
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .nth(index)
        .map_or(1, |(n, _)| n + 1)
}

/// 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Best-effort line of a dotted key path like `stream[1].fps` (for errors found after parsing).
pub(super) fn find_key_line(text: &str, key: &str) -> usize {
    let mut want_index: Option<(String, usize)> = None;
    let mut table = String::new();
    let mut counts = std::collections::HashMap::<String, usize>::new();
    let mut first = key.split('.').next().unwrap_or("").to_string();
    if let Some((name, idx)) = first.split_once('[') {
        want_index = Some((
            name.to_string(),
            idx.trim_end_matches(']').parse().unwrap_or(0),
        ));
        first = name.to_string();
    }
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let mut in_target = want_index.is_none() && !key.contains('.');
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let c = counts.entry(name.trim().to_string()).or_insert(0);
            table = format!("{}[{}]", name.trim(), *c);
            *c += 1;
            in_target = match &want_index {
                Some((w, i)) => *w == name.trim() && table == format!("{w}[{i}]"),
                None => false,
            };
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let top = name.trim().split('.').next().unwrap_or("");
            in_target = top == first && want_index.is_none()
                || (want_index.is_some() && table.starts_with(&first) && top == first);
            if in_target && !key.contains('.') {
                return n + 1;
            }
            continue;
        }
        let k = line.split('=').next().unwrap_or("").trim();
        if in_target && k == leaf {
            return n + 1;
        }
    }
    1
}

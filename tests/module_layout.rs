//! The library's layout is its data flow: `src/lib.rs` lists the top-level modules in order, and
//! code in each module may use only modules listed after it (so there is no import cycle, and a
//! newcomer reading the list top-down meets callers before callees). Comments are ignored; test
//! code counts too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// The modules in the order of the crate doc's list (`//! - [`name`]…` lines, several per line).
fn documented_order() -> Vec<String> {
    let lib = std::fs::read_to_string(format!("{SRC}/lib.rs")).unwrap();
    let mut order = Vec::new();
    for line in lib.lines().filter(|l| l.starts_with("//! - ")) {
        let head = line.split(':').next().unwrap();
        for part in head.split("[`").skip(1) {
            order.push(part.split('`').next().unwrap().to_string());
        }
    }
    order
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file's code names as `crate::<module>`.
fn uses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap();
        for part in code.split("crate::").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_modules_listed_after_it() {
    let order = documented_order();
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let declared: Vec<String> = std::fs::read_to_string(format!("{SRC}/lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let mut documented = order.clone();
    documented.sort();
    let mut sorted = declared.clone();
    sorted.sort();
    assert_eq!(documented, sorted, "the crate doc lists every module once");

    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(SRC).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs");
        let Some(&mine) = rank.get(module) else {
            continue; // lib.rs, main.rs
        };
        for used in uses(&std::fs::read_to_string(&file).unwrap()) {
            match rank.get(used.as_str()) {
                Some(&theirs) if theirs < mine => {
                    wrong.push(format!("{} uses crate::{used}", rel.display()))
                }
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "upward dependencies:\n{}",
        wrong.join("\n")
    );
}

//! The module map of `docs/ARCHITECTURE.md`, enforced: every top-level module of `src/` has a
//! layer, and its code (unit tests aside) may use only modules of lower layers. An import
//! that points sideways or upward, which is where a cycle starts, fails here with the file
//! that makes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may use the modules of the layers before its own.
const LAYERS: &[&[&str]] = &[
    &[
        "money",
        "ist",
        "secret",
        "redact",
        "crashpoint",
        "pacer",
        "staged",
    ],
    &["payout", "sheet"],
    &["journal", "validate", "provider"],
    &[
        "progress", "intake", "report", "template", "config", "sandbox",
    ],
    &["engine"],
    &["cli"],
    &["commands"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module a file of `src/` belongs to.
fn owner(src: &Path, file: &Path) -> String {
    let first = file.strip_prefix(src).unwrap().components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
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

/// The code of a file without its unit tests (kept at the end of a file, in `tests.rs` or in a
/// `tests/` folder) and without comments.
fn code(src: &Path, path: &Path) -> String {
    let inside = path.strip_prefix(src).unwrap();
    if inside.file_name().is_some_and(|n| n == "tests.rs")
        || inside.components().any(|c| c.as_os_str() == "tests")
    {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names through `crate::`.
fn uses(code: &str) -> Vec<String> {
    let ident = |s: &str| {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
    };
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(group.split(',').map(|p| ident(p.trim())));
        } else {
            found.push(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

#[test]
fn every_import_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let me = owner(&src, file);
        if me == "lib" || me == "main" {
            continue;
        }
        let Some(mine) = layer(&me) else {
            wrong.push(format!(
                "{}: module `{me}` has no layer in tests/architecture.rs (and docs/ARCHITECTURE.md)",
                file.display()
            ));
            continue;
        };
        for used in uses(&code(&src, file)) {
            if used == me {
                continue;
            }
            edges.entry(me.clone()).or_default().push(used.clone());
            match layer(&used) {
                Some(theirs) if theirs < mine => {}
                _ => wrong.push(format!(
                    "{}: `{me}` uses `crate::{used}`, which is not below it",
                    file.display()
                )),
            }
        }
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the module map:\n{}",
        wrong.join("\n")
    );
    // The check must have seen the map's main arrows, or it read nothing.
    for (from, to) in [
        ("commands", "engine"),
        ("engine", "provider"),
        ("engine", "journal"),
    ] {
        assert!(
            edges.get(from).is_some_and(|e| e.iter().any(|t| t == to)),
            "{from} -> {to} not found: {edges:?}"
        );
    }
}

#[test]
fn the_reader_finds_grouped_and_plain_imports() {
    let code = "use crate::payout::{LinkInfo};\nuse crate::{money::Amount, ist};\nlet x = crate::sheet::open(p);";
    assert_eq!(uses(code), ["payout", "money", "ist", "sheet"]);
}

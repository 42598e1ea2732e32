//! The house rules, checked rather than only written down: every `crate::` path in `src/`
//! (in `use` items and in code) follows the layer order of docs/architecture.md, which this
//! test reads, so the order is written once; and no function in `src/` is longer than 80 lines.
//!
//! Limits of the scan (it reads text, not a syntax tree): `super::` and `self::` paths are
//! resolved only in `use` items at the top of a file, not inside inline modules (whose
//! `super` is the file itself); a name brought in by a glob or a re-export counts where its
//! path points, not where it is defined; and a function's length counts the lines from its
//! `fn` line to its closing brace, with braces in comments, strings and character literals
//! skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Longest function allowed, in lines.
const MAX_FN_LINES: usize = 80;

/// The layers, top first: each a list of module paths (`fidelity::schemes`, `verify`).
type Layers = Vec<Vec<String>>;

/// Reads the fenced block that follows the line `<!-- layers -->` in the architecture page.
fn parse_layers(doc: &str) -> Layers {
    let start = doc
        .find("<!-- layers -->")
        .expect("docs/architecture.md has a `<!-- layers -->` marker before the layer block");
    let block = doc[start..]
        .split("```")
        .nth(1)
        .expect("a fenced block follows the layers marker");
    block
        .lines()
        .skip(1)
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The layer of module path `path` (`["fidelity", "schemes", "explicit"]`): its longest
/// prefix named in `layers`, with the index of that layer (0 = top).
fn layer_of<'a>(layers: &'a Layers, path: &[String]) -> Option<(usize, &'a str)> {
    let mut best: Option<(usize, &str, usize)> = None;
    for (i, layer) in layers.iter().enumerate() {
        for entry in layer {
            let parts: Vec<&str> = entry.split("::").collect();
            let matches = parts.len() <= path.len() && parts.iter().zip(path).all(|(a, b)| a == b);
            if matches && best.is_none_or(|(_, _, n)| parts.len() > n) {
                best = Some((i, entry.as_str(), parts.len()));
            }
        }
    }
    best.map(|(i, e, _)| (i, e))
}

/// The module path of a file under `src/`: `fidelity/schemes/mod.rs` → `fidelity::schemes`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// `text` with comments, string contents and character literals blanked out (kept the same
/// length and lines), so braces and paths inside them do not count. Strings in attributes
/// (`#[serde(with = "crate::units::duration")]`) name code, and are kept when `keep_attributes`
/// is set.
fn strip(text: &str, keep_attributes: bool) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |c: u8| if c == b'\n' { b'\n' } else { b' ' };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if b[i] == b'"' || raw_string_at(b, i) {
            let keep = keep_attributes && in_attribute(b, i);
            i = skip_string(b, i, keep, &mut out);
        } else if b[i] == b'\'' && is_char_literal(b, i) {
            out.push(b'\'');
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                let esc = b[i] == b'\\';
                out.push(b' ');
                i += 1;
                if esc && i < b.len() {
                    out.push(b' ');
                    i += 1;
                }
            }
            if i < b.len() {
                out.push(b'\'');
                i += 1;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Copies (or blanks) the string literal at `i` (plain or raw) into `out`; returns the index
/// past it.
fn skip_string(b: &[u8], mut i: usize, keep: bool, out: &mut Vec<u8>) -> usize {
    let raw = b[i] == b'r';
    let mut hashes = 0;
    if raw {
        out.push(b'r');
        i += 1;
        while b[i] == b'#' {
            hashes += 1;
            out.push(b'#');
            i += 1;
        }
    }
    out.push(b'"');
    i += 1;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && !raw {
            out.extend_from_slice(if keep { &b[i..i + 2] } else { b"  " });
            i += 2;
            continue;
        }
        if c == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == b'#')
                .count()
                == hashes
        {
            out.push(b'"');
            out.extend(std::iter::repeat_n(b'#', hashes));
            return i + 1 + hashes;
        }
        out.push(if keep || c == b'\n' { c } else { b' ' });
        i += 1;
    }
    i
}

/// Whether a raw string (`r"…"`, `r#"…"#`) starts at `i`, not a raw identifier (`r#type`).
fn raw_string_at(b: &[u8], i: usize) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if b[i] != b'r' || (i > 0 && ident(b[i - 1])) {
        return false;
    }
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    b.get(i + 1 + hashes) == Some(&b'"')
}

/// Whether the line of index `i` is an attribute (`#[...]`).
fn in_attribute(b: &[u8], i: usize) -> bool {
    let start = b[..i]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    String::from_utf8_lossy(&b[start..i])
        .trim_start()
        .starts_with("#[")
}

/// Whether the `'` at `i` opens a character literal rather than a lifetime or label.
fn is_char_literal(b: &[u8], i: usize) -> bool {
    match b.get(i + 1) {
        Some(b'\\') => true,
        Some(_) => {
            // 'x' (one character, possibly multi-byte) closes within 5 bytes.
            let rest = &b[i + 1..b.len().min(i + 6)];
            let text = String::from_utf8_lossy(rest);
            let mut chars = text.chars();
            chars.next().is_some() && chars.next() == Some('\'')
        }
        None => false,
    }
}

/// An import that breaks the layer order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Breach {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The modules a file imports: every `crate::a::b` path in its code, and the `super::`/`self::`
/// paths of its top-level `use` items resolved against `module`; with their line numbers.
fn imports(code: &str, module: &[String]) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            let path_text = &rest[at + "crate::".len()..];
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                out.push((n + 1, path_segments(path_text)));
            }
            rest = path_text;
        }
        if let Some(path) = line
            .strip_prefix("use ")
            .or_else(|| line.strip_prefix("pub use "))
        {
            if let Some(resolved) = resolve_relative(path, module) {
                out.push((n + 1, resolved));
            }
        }
    }
    out
}

/// `a::b::{c, d}` → `["a", "b"]`: the leading identifiers of a path.
fn path_segments(text: &str) -> Vec<String> {
    text.split("::")
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .take_while(|s| !s.is_empty())
        .collect()
}

/// A `use super::…`/`use self::…` path as an absolute module path (`None` for any other path).
/// A `mod.rs` is its folder's module, so each `super` drops one segment of the file's module.
fn resolve_relative(path: &str, module: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = module.to_vec();
    let mut segs = path_segments(path);
    if segs.first().is_some_and(|s| s == "self") {
        segs.remove(0);
    } else {
        while segs.first().is_some_and(|s| s == "super") {
            segs.remove(0);
            base.pop()?;
        }
        if base.len() == module.len() {
            return None;
        }
    }
    base.extend(segs);
    Some(base)
}

/// Every import in `files` (path under `src/` → text) that goes up or sideways in `layers`.
fn breaches(layers: &Layers, files: &BTreeMap<PathBuf, String>) -> Vec<Breach> {
    let mut out = Vec::new();
    for (rel, text) in files {
        let module = module_of(rel);
        let Some((from_layer, from)) = layer_of(layers, &module) else {
            continue;
        };
        for (line, target) in imports(&strip(text, true), &module) {
            let Some((to_layer, to)) = layer_of(layers, &target) else {
                continue;
            };
            if to != from && to_layer <= from_layer {
                out.push(Breach {
                    file: rel.display().to_string(),
                    line,
                    from: from.to_owned(),
                    to: to.to_owned(),
                });
            }
        }
    }
    out
}

/// Top-level modules of the crate (files and folders under `src/`) that no layer names.
fn unplaced(layers: &Layers, files: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let mut out: Vec<String> = files
        .keys()
        .map(|rel| module_of(rel))
        .filter(|m| !m.is_empty() && layer_of(layers, m).is_none())
        .map(|m| m[0].clone())
        .collect();
    out.dedup();
    out
}

/// Functions longer than `max` lines: (name, first line, lines).
fn long_functions(text: &str, max: usize) -> Vec<(String, usize, usize)> {
    let code = strip(text, false);
    let b = code.as_bytes();
    let line_at = |i: usize| code[..i].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut search = 0;
    while let Some(found) = code[search..].find("fn ") {
        let at = search + found;
        search = at + 3;
        let prev = code[..at].chars().next_back();
        if prev.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let Some(open) = body_start(b, at + 3) else {
            continue;
        };
        let close = matching_brace(b, open);
        let lines = line_at(close) - line_at(at) + 1;
        if lines > max {
            out.push((name, line_at(at), lines));
        }
    }
    out
}

/// The index of the `{` that opens the body of the function whose signature starts at `i`, or
/// `None` for a declaration without body (ends in `;` first). Brackets in the signature are
/// balanced first, so `impl Fn() -> X` and generic bounds do not count.
fn body_start(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0i32;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'<' => depth += 1,
            b')' | b']' => depth -= 1,
            b'>' if i > 0 && b[i - 1] != b'-' && b[i - 1] != b'=' => depth -= 1,
            b'{' if depth <= 0 => return Some(i),
            b';' if depth <= 0 => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the `}` that closes the `{` at `open`.
fn matching_brace(b: &[u8], open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    b.len() - 1
}

/// Every `.rs` file under `dir`, keyed by its path relative to `dir`.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read src/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), text);
            }
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn real_layers() -> Layers {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md"))
        .expect("read docs/architecture.md");
    parse_layers(&doc)
}

#[test]
fn imports_only_go_down_the_layers_of_the_architecture_page() {
    let layers = real_layers();
    let files = read_tree(&root().join("src"));
    let unplaced = unplaced(&layers, &files);
    assert!(
        unplaced.is_empty(),
        "modules the layer block of docs/architecture.md does not name: {unplaced:?}"
    );
    let found = breaches(&layers, &files);
    let lines: Vec<String> = found
        .iter()
        .map(|b| format!("{}:{}: {} imports {}", b.file, b.line, b.from, b.to))
        .collect();
    assert!(
        found.is_empty(),
        "imports that go up or sideways in the layers of docs/architecture.md:\n{}",
        lines.join("\n")
    );
}

#[test]
fn no_function_in_src_is_over_80_lines() {
    let mut long = Vec::new();
    for (rel, text) in read_tree(&root().join("src")) {
        for (name, line, lines) in long_functions(&text, MAX_FN_LINES) {
            long.push(format!(
                "src/{}:{line}: {name} is {lines} lines",
                rel.display()
            ));
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// A small tree written to disk: `cli` on top, `domain` under it, `leaf` at the bottom.
fn synthetic(files: &[(&str, &str)]) -> (tempfile::TempDir, BTreeMap<PathBuf, String>) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let tree = read_tree(dir.path());
    (dir, tree)
}

const SYNTHETIC_DOC: &str = "# Layers\n\n<!-- layers -->\n```text\ncli        # top\n\
    domain\ndomain::low other\nleaf\n```\n";

#[test]
fn the_layer_check_passes_a_tree_whose_imports_go_down() {
    let layers = parse_layers(SYNTHETIC_DOC);
    assert_eq!(layers.len(), 4);
    let (_dir, tree) = synthetic(&[
        ("lib.rs", "pub mod cli;\n"),
        ("cli/mod.rs", "use crate::domain::Plan;\nuse crate::leaf;\n"),
        (
            "domain/mod.rs",
            "pub mod low;\nuse self::low::X;\nuse crate::leaf::Unit;\n",
        ),
        ("domain/high.rs", "use super::low::X;\n"),
        (
            "domain/low.rs",
            "use crate::leaf::Unit;\n// crate::cli in a comment\n",
        ),
        (
            "other.rs",
            "#[serde(with = \"crate::leaf\")]\nfn f() { let _ = \"crate::cli\"; crate::leaf::g(); }\n",
        ),
        ("leaf.rs", "pub fn g() {}\n"),
    ]);
    assert_eq!(breaches(&layers, &tree), vec![]);
    assert_eq!(unplaced(&layers, &tree), Vec::<String>::new());
}

#[test]
fn the_layer_check_fails_on_an_upward_or_sideways_import() {
    let layers = parse_layers(SYNTHETIC_DOC);
    let (_dir, tree) = synthetic(&[
        (
            "domain/low.rs",
            "use crate::leaf::Unit;\nuse super::Plan;\n",
        ),
        ("leaf.rs", "fn f() -> crate::cli::Args { todo!() }\n"),
        ("other.rs", "use crate::domain::low::X;\n"),
        ("stray.rs", "#[serde(with = \"crate::cli\")]\nstruct S;\n"),
    ]);
    let found: Vec<(String, usize, String, String)> = breaches(&layers, &tree)
        .into_iter()
        .map(|b| (b.file, b.line, b.from, b.to))
        .collect();
    let row = |f: &str, l, a: &str, b: &str| (f.to_owned(), l, a.to_owned(), b.to_owned());
    assert_eq!(
        found,
        vec![
            row("domain/low.rs", 2, "domain::low", "domain"),
            row("leaf.rs", 1, "leaf", "cli"),
            row("other.rs", 1, "other", "domain::low"),
        ]
    );
    assert_eq!(unplaced(&layers, &tree), vec!["stray".to_owned()]);
    let stray = BTreeMap::from([(
        PathBuf::from("leaf.rs"),
        tree[Path::new("stray.rs")].clone(),
    )]);
    assert_eq!(
        breaches(&layers, &stray).len(),
        1,
        "a path in an attribute counts"
    );
}

#[test]
fn the_length_check_counts_a_function_from_fn_to_its_closing_brace() {
    let body: String = (0..79)
        .map(|i| format!("    let _x{i} = '{{';\n"))
        .collect();
    let long = format!("fn long() {{\n{body}    let s = \"}}\";\n}}\n");
    let short = format!("fn short() {{\n{}}}\n", &body[..body.len() / 2]);
    let decl = "trait T {\n    fn declared(&self) -> impl Fn() -> u8;\n}\n";
    let text = format!("{decl}{short}{long}");
    let found = long_functions(&text, MAX_FN_LINES);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0.as_str(), found[0].2), ("long", 82));
}

/// The module index between `<!-- modules -->` and `<!-- /modules -->` in the architecture
/// page: one line per folder, `` - `folder/`: `a`, `b/` ``, as paths relative to `src/`
/// (`pipeline/ingest/http`, `verify/backend/`).
fn indexed_modules(doc: &str) -> std::collections::BTreeSet<String> {
    let start = doc
        .find("<!-- modules -->")
        .expect("docs/architecture.md has a `<!-- modules -->` index");
    let end = doc.find("<!-- /modules -->").expect("the index ends");
    let mut found = std::collections::BTreeSet::new();
    for line in doc[start..end].lines().filter(|l| l.starts_with("- `")) {
        let (folder, items) = line[3..].split_once("`: ").expect("- `folder/`: `a`, `b`");
        let folder = folder.trim_start_matches("src/");
        for item in items.split(", ") {
            found.insert(format!("{folder}{}", item.trim_matches('`')));
        }
    }
    found
}

/// Every module and folder of the tree under `dir`, as `indexed_modules` writes them.
fn tree_modules(dir: &Path) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    for rel in read_tree(dir).keys() {
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        for depth in 1..parts.len() {
            found.insert(format!("{}/", parts[..depth].join("/")));
        }
        let file = parts.last().unwrap().trim_end_matches(".rs");
        let folder = parts[..parts.len() - 1].join("/");
        let top = parts.len() == 1 && matches!(file, "lib" | "main");
        if file != "mod" && !top {
            let prefix = if folder.is_empty() {
                String::new()
            } else {
                format!("{folder}/")
            };
            found.insert(format!("{prefix}{file}"));
        }
    }
    found
}

#[test]
fn every_module_is_named_in_the_architecture_page_and_no_other() {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let (indexed, tree) = (indexed_modules(&doc), tree_modules(&root().join("src")));
    let unnamed: Vec<_> = tree.difference(&indexed).collect();
    let gone: Vec<_> = indexed.difference(&tree).collect();
    assert!(
        unnamed.is_empty() && gone.is_empty(),
        "docs/architecture.md's module index misses {unnamed:?} and names {gone:?}, which do not exist"
    );
}

//! The layout the architecture promises, checked on the sources: which module imports which.
//! A module is a file; an import is a `crate::…` or `super::…` path (tests' own modules left
//! out). Circles are found as strongly connected components of that graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules of a crate (`dossier/depot`, `writer`…) and the files they are in.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .expect("under src")
                    .with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                out.insert(parts.join("/"), path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

/// The module a path names: its longest prefix that is a module.
fn resolve(modules: &BTreeMap<String, PathBuf>, path: &[&str]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("/"))
        .find(|m| modules.contains_key(m))
}

/// Which modules each module imports.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let path_re = |prefix: &str, text: &str| -> Vec<Vec<String>> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            found.push(
                path.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
        }
        found
    };
    let mut g = BTreeMap::new();
    for (name, file) in &modules {
        let text = std::fs::read_to_string(file).expect("source");
        // What is under test only is not the module's own import.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let text: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        // `super` is the parent of the module (of `a` for `a/b.rs`, the root for `a/mod.rs`).
        let parent: Vec<&str> = {
            let mut p: Vec<&str> = name.split('/').collect();
            p.pop();
            p
        };
        let mut targets = BTreeSet::new();
        let mut add = |path: Vec<String>| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(t) = resolve(&modules, &path).filter(|t| t != name && !t.is_empty()) {
                targets.insert(t);
            }
        };
        for p in path_re("crate::", &text) {
            add(p);
        }
        // `use crate::{a, b::c};`: each item of the list.
        for list in text.split("use crate::{").skip(1) {
            let list = list.split("};").next().unwrap_or_default();
            for item in list.split(',') {
                let item = item.split_whitespace().next().unwrap_or_default();
                let head: Vec<String> = item
                    .split("::")
                    .filter(|s| !s.is_empty() && !s.starts_with('{'))
                    .map(str::to_string)
                    .collect();
                add(head);
            }
        }
        for p in path_re("super::", &text) {
            let mut full: Vec<String> = parent.iter().map(|s| s.to_string()).collect();
            full.extend(p);
            add(full);
        }
        g.insert(name.clone(), targets);
    }
    g
}

/// The circles of a graph: its strongly connected components of more than one module.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    // Kosaraju: an order by finishing time, then the components on the reversed graph.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(n.to_string()) {
            return;
        }
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, seen, out);
        }
        out.push(n.to_string());
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for n in g.keys() {
        visit(n, g, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (n, ms) in g {
        for m in ms {
            reversed.entry(m.clone()).or_default().insert(n.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.iter().rev() {
        let mut component = Vec::new();
        visit(n, &reversed, &mut seen, &mut component);
        if component.len() > 1 {
            out.push(component.into_iter().collect());
        }
    }
    out
}

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

#[test]
fn the_store_s_ground_floor_is_in_no_circle_and_the_group_commit_knows_no_capability() {
    let g = graph(&src("store"));
    assert!(
        g.contains_key("writer") && g.contains_key("journal"),
        "{g:?}"
    );
    // The ground floor (connections, the pool, the group commit, traces and the journal they
    // write) is in no circle; capabilities may lean on each other in pairs at most.
    for c in circles(&g) {
        let ground: Vec<&String> = c
            .iter()
            .filter(|m| {
                [
                    "conn", "failover", "db", "writer", "trace", "journal", "outbox",
                ]
                .contains(&m.as_str())
            })
            .collect();
        assert!(
            ground.is_empty() && c.len() <= 2,
            "a circle in the store: {c:?}"
        );
    }
    // The writer offers shares and topics; it imports only the connection layer (connections,
    // and which host of a multi-host URL is the primary).
    let writer: Vec<&String> = g["writer"].iter().collect();
    assert_eq!(
        writer,
        ["conn", "failover"],
        "the writer imports {writer:?}"
    );
    let failover: Vec<&String> = g["failover"].iter().collect();
    assert_eq!(failover, ["conn"], "failover imports {failover:?}");
}

#[test]
fn the_web_layer_has_no_circle_of_more_than_three_files_and_a_ground_floor_of_no_capability() {
    let web = src("web");
    let g = graph(&web);
    let found: Vec<_> = circles(&g).into_iter().filter(|c| c.len() > 3).collect();
    assert!(found.is_empty(), "long circles in the web layer: {found:?}");
    // The capabilities are the folders (but `auth`, the authorization layer); the ground floor
    // is every other module but the ones that assemble the whole (routes, jobs, the root).
    let capabilities: BTreeSet<String> = std::fs::read_dir(&web)
        .expect("web/src")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|c| c != "auth")
        .collect();
    assert!(capabilities.contains("dossier") && capabilities.contains("signalement"));
    for (module, imports) in &g {
        let top = module.split('/').next().unwrap_or_default();
        let ground = !capabilities.contains(top) && !["routes", "jobs", ""].contains(&top);
        if !ground {
            continue;
        }
        let upward: Vec<&String> = imports
            .iter()
            .filter(|i| capabilities.contains(i.split('/').next().unwrap_or_default()))
            .collect();
        assert!(
            upward.is_empty(),
            "the ground floor's {module} imports capabilities: {upward:?}"
        );
    }
}

#[test]
fn the_graph_reader_finds_a_circle_it_is_shown() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    g.insert("d".to_string(), BTreeSet::from(["a".to_string()]));
    let found = circles(&g);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
}

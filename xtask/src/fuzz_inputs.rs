//! Inputs for the fuzz group (`cargo xtask fuzz`), made on the host from fixed seeds and put
//! in the ramdisk under `/fuzz`:
//!
//! - `/fuzz/wasm-modules.bin`: [`MODULES`] modules from `wasm-smith` (every other one with a
//!   few bytes changed, so most of those are invalid), as one archive: `count: u32`, then
//!   `len: u32` and the bytes of each (little-endian);
//! - `/fuzz/wasi-calls.wasm`: a WASI command that calls every preview1 function (the list is
//!   `wasi_host::abi::FUNCTIONS`, so a new one is covered at once) [`CALLS_PER_FUNCTION`]
//!   times with random pointers, lengths, descriptors and flags, then `proc_exit(42)`;
//!   `/fuzz/wasi-calls.count` holds the number of calls.

use std::fs;
use std::path::Path;

use arbitrary::Unstructured;
use wasi_host::abi::{self, Ty};
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    Instruction, MemorySection, MemoryType, Module, TypeSection, ValType,
};

use crate::error::{Context, Result};
use crate::ramdisk::AddSpec;

/// Generated wasm modules.
pub const MODULES: usize = 10_000;
/// Calls of each preview1 function in the WASI module.
pub const CALLS_PER_FUNCTION: usize = 200;

/// xorshift64: deterministic, so a failing input can be made again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Writes the inputs into `dir` and returns the ramdisk additions for them.
pub fn write_inputs(dir: &Path) -> Result<Vec<AddSpec>> {
    fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    let modules = dir.join("wasm-modules.bin");
    fs::write(&modules, module_archive(MODULES))
        .context(|| format!("writing {}", modules.display()))?;
    let (wasi, calls) = wasi_calls_module(CALLS_PER_FUNCTION);
    let wasi_path = dir.join("wasi-calls.wasm");
    fs::write(&wasi_path, wasi).context(|| format!("writing {}", wasi_path.display()))?;
    let count_path = dir.join("wasi-calls.count");
    fs::write(&count_path, format!("{calls}\n"))
        .context(|| format!("writing {}", count_path.display()))?;
    [
        (modules, "/fuzz/wasm-modules.bin"),
        (wasi_path, "/fuzz/wasi-calls.wasm"),
        (count_path, "/fuzz/wasi-calls.count"),
    ]
    .iter()
    .map(|(host, guest)| AddSpec::parse(&format!("{}:{guest}", host.display())))
    .collect()
}

/// The exports every generated module has: a WASI command's `_start`.
fn start_export() -> Vec<u8> {
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    let mut exports = ExportSection::new();
    exports.export("_start", ExportKind::Func, 0);
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instruction(&Instruction::End);
    code.function(&body);
    module
        .section(&types)
        .section(&funcs)
        .section(&exports)
        .section(&code);
    module.finish()
}

fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        exports: Some(start_export()),
        max_imports: 0,
        max_funcs: 20,
        max_memory32_bytes: 1 << 20,
        max_table_elements: 1000,
        max_data_segments: 10,
        max_element_segments: 10,
        memory64_enabled: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// `count` modules from wasm-smith; every odd one has 1 to 4 bytes changed after the header.
pub fn module_archive(count: usize) -> Vec<u8> {
    let mut rng = Rng(0x5717_4a5e_ed00_0001);
    let mut out = Vec::new();
    out.extend_from_slice(&(count as u32).to_le_bytes());
    let mut made = 0;
    while made < count {
        let len = 64 + rng.below(4096) as usize;
        let seed: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let Ok(module) = wasm_smith::Module::new(smith_config(), &mut Unstructured::new(&seed))
        else {
            continue;
        };
        let mut bytes = module.to_bytes();
        if made % 2 == 1 && bytes.len() > 8 {
            for _ in 0..1 + rng.below(4) {
                let at = 8 + rng.below(bytes.len() as u64 - 8) as usize;
                bytes[at] = rng.next() as u8;
            }
        }
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
        made += 1;
    }
    out
}

/// Bytes of guest memory: page 0 is where random pointers land; the first 4 KiB of page 1
/// hold `poll_oneoff`'s subscriptions (zero: clocks with timeout 0, so it never sleeps),
/// which no other call is pointed at.
const PAGE: u32 = 65536;
const POLL_AREA: u32 = PAGE;
const MEMORY_END: u32 = 2 * PAGE;

/// A random `i32` argument: a descriptor, an in-memory pointer with a length that stays in
/// page 0, a pointer at the end of memory, one far past it, a huge length, or random bits.
fn random_i32(rng: &mut Rng) -> i32 {
    (match rng.below(10) {
        0 | 1 => rng.below(12) as u32, // descriptors, small lengths
        2 | 3 => rng.below(u64::from(PAGE) - 256) as u32, // pointers into page 0
        4 => MEMORY_END - 1 - rng.below(64) as u32, // at the end of memory
        5 => MEMORY_END + rng.below(1 << 20) as u32, // past it
        6 => [u32::MAX, u32::MAX - 3, 0x8000_0000, 0x7fff_ffff][rng.below(4) as usize],
        7 => [16, 64, 255, 256][rng.below(4) as usize], // lengths that fit
        _ => rng.next() as u32,
    }) as i32
}

fn random_i64(rng: &mut Rng) -> i64 {
    match rng.below(6) {
        0 => 0,
        1 => rng.below(4096) as i64,
        2 => -(rng.below(100) as i64) - 1,
        3 => [i64::MAX, i64::MIN, 1 << 40, u32::MAX as i64][rng.below(4) as usize],
        _ => rng.next() as i64,
    }
}

/// The WASI command described in the module docs; returns it and its number of calls.
pub fn wasi_calls_module(calls_per_function: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng(0x0a51_ca11_5eed_0002);
    let val = |t: &Ty| match t {
        Ty::I32 => ValType::I32,
        Ty::I64 => ValType::I64,
    };
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    for (i, f) in abi::FUNCTIONS.iter().enumerate() {
        let results: Vec<ValType> = if f.returns_errno {
            vec![ValType::I32]
        } else {
            vec![]
        };
        types.ty().function(f.params.iter().map(val), results);
        imports.import(abi::MODULE, f.name, EntityType::Function(i as u32));
    }
    let void = abi::FUNCTIONS.len() as u32;
    types.ty().function([], []);
    let imported = abi::FUNCTIONS.len() as u32;
    let proc_exit = abi::FUNCTIONS
        .iter()
        .position(|f| f.name == "proc_exit")
        .expect("proc_exit in the preview1 list") as u32;

    // One function per preview1 function with all its calls, then `_start`.
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut calls = 0;
    let mut callers = Vec::new();
    for (i, f) in abi::FUNCTIONS.iter().enumerate() {
        if i as u32 == proc_exit {
            continue;
        }
        let mut body = Function::new([]);
        for _ in 0..calls_per_function {
            for (n, t) in f.params.iter().enumerate() {
                match t {
                    Ty::I32 if f.name == "poll_oneoff" && n == 0 => {
                        let at = POLL_AREA + 48 * rng.below(16) as u32;
                        let v = if rng.below(8) == 0 {
                            random_i32(&mut rng)
                        } else {
                            at as i32
                        };
                        body.instruction(&Instruction::I32Const(v))
                    }
                    Ty::I32 if f.name == "poll_oneoff" && n == 2 => {
                        body.instruction(&Instruction::I32Const(if rng.below(8) == 0 {
                            random_i32(&mut rng)
                        } else {
                            rng.below(17) as i32
                        }))
                    }
                    Ty::I32 => body.instruction(&Instruction::I32Const(random_i32(&mut rng))),
                    Ty::I64 => body.instruction(&Instruction::I64Const(random_i64(&mut rng))),
                };
            }
            body.instruction(&Instruction::Call(i as u32));
            if f.returns_errno {
                body.instruction(&Instruction::Drop);
            }
            calls += 1;
        }
        body.instruction(&Instruction::End);
        funcs.function(void);
        code.function(&body);
        callers.push(imported + callers.len() as u32);
    }
    let mut start = Function::new([]);
    for caller in &callers {
        start.instruction(&Instruction::Call(*caller));
    }
    start.instruction(&Instruction::I32Const(42));
    start.instruction(&Instruction::Call(proc_exit));
    start.instruction(&Instruction::End);
    funcs.function(void);
    code.function(&start);
    let start_index = imported + callers.len() as u32;

    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 2,
        maximum: Some(2),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("_start", ExportKind::Func, start_index);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&funcs)
        .section(&memories)
        .section(&exports)
        .section(&code);
    (module.finish(), calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_module_is_valid_and_imports_every_function() {
        let (bytes, calls) = wasi_calls_module(3);
        wasmparser::Validator::new().validate_all(&bytes).unwrap();
        assert_eq!(calls, 3 * (abi::FUNCTIONS.len() - 1));
        let imports = wasmparser::Parser::new(0)
            .parse_all(&bytes)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::ImportSection(s) => Some(s.into_iter().count()),
                _ => None,
            })
            .sum::<usize>();
        assert_eq!(imports, abi::FUNCTIONS.len());
    }

    #[test]
    fn archive_holds_valid_and_damaged_modules() {
        let archive = module_archive(20);
        assert_eq!(u32::from_le_bytes(archive[..4].try_into().unwrap()), 20);
        let (mut at, mut valid) = (4, 0);
        for _ in 0..20 {
            let len = u32::from_le_bytes(archive[at..at + 4].try_into().unwrap()) as usize;
            let bytes = &archive[at + 4..at + 4 + len];
            assert!(bytes.starts_with(b"\0asm"));
            valid += usize::from(wasmparser::Validator::new().validate_all(bytes).is_ok());
            at += 4 + len;
        }
        assert_eq!(at, archive.len());
        more_asserts::assert_ge!(valid, 10, "the undamaged half validates (of 20)");
    }
}

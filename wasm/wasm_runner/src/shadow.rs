//! The shadow call stack that gives a trapping guest a backtrace.
//!
//! wasmi 2.0 exposes no wasm backtrace, so before compiling, [`instrument`] rewrites the
//! module: it appends one memory (1 page) and one mutable `i32` global `sp`, exported as
//! [`MEMORY_EXPORT`] and [`SP_EXPORT`], and gives every defined function one more local,
//! `saved`. On entry a function pushes its index (`saved = sp; shadow[saved & 0xfffc] =
//! index; sp = saved + 4`), and before each `return`, each tail call, each `br` out of the
//! function and its final `end` it pops by putting `saved` back (`sp = saved`; the operand
//! stack is not touched). The pop is one wasmi instruction (a pop that subtracted was
//! three, and the instrumentation runs at every call), and a function that leaves without
//! its pop (a `br_if` or `br_table` to the function's own label) leaves its frame on the
//! ring only until its caller's pop. The ring holds the innermost [`RING_FRAMES`] frames; `sp` keeps counting.
//! The new memory and global come after the module's own, so no existing index changes. A
//! module the rewrite does not handle (no defined memory, global or export section, or a
//! parse error) is run unmodified, without a backtrace. On a trap, [`backtrace`] reads the
//! frames back through the exports, innermost first, named from the module's `name` section.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    ConstExpr, ExportKind, Function, GlobalType, Instruction, MemArg, MemoryType, ValType,
};
use wasmparser::{CompositeInnerType, KnownCustom, Name, Operator, Parser, Payload, TypeRef};

/// Export name of the shadow stack's memory.
pub const MEMORY_EXPORT: &str = "__theseus_shadow_memory";
/// Export name of the shadow stack pointer (bytes pushed, never wrapped by the ring).
pub const SP_EXPORT: &str = "__theseus_shadow_sp";
/// Frames the ring holds (one 64 KiB page of `u32` function indices).
pub const RING_FRAMES: u32 = 16384;

/// What the pre-scan learned about a module.
struct Scan {
    imported_funcs: u32,
    memories: u32,
    globals: u32,
    has_memory_section: bool,
    has_global_section: bool,
    has_export_section: bool,
    /// Parameters of each type (0 for a type that is no function type).
    type_params: Vec<u32>,
    /// The parameter count of each defined function, in order.
    defined_params: Vec<u32>,
}

fn scan(bytes: &[u8]) -> Result<Scan, wasmparser::BinaryReaderError> {
    let mut s = Scan {
        imported_funcs: 0,
        memories: 0,
        globals: 0,
        has_memory_section: false,
        has_global_section: false,
        has_export_section: false,
        type_params: Vec::new(),
        defined_params: Vec::new(),
    };
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ImportSection(imports) => {
                for import in imports {
                    match import?.ty {
                        TypeRef::Func(_) => s.imported_funcs += 1,
                        TypeRef::Memory(_) => s.memories += 1,
                        TypeRef::Global(_) => s.globals += 1,
                        _ => {}
                    }
                }
            }
            Payload::MemorySection(m) => {
                s.has_memory_section = true;
                s.memories += m.count();
            }
            Payload::GlobalSection(g) => {
                s.has_global_section = true;
                s.globals += g.count();
            }
            Payload::ExportSection(_) => s.has_export_section = true,
            Payload::TypeSection(types) => {
                for group in types {
                    for ty in group?.into_types() {
                        s.type_params.push(match ty.composite_type.inner {
                            CompositeInnerType::Func(f) => f.params().len() as u32,
                            _ => 0,
                        });
                    }
                }
            }
            Payload::FunctionSection(funcs) => {
                for ty in funcs {
                    let params = s.type_params.get(ty? as usize).copied().unwrap_or(0);
                    s.defined_params.push(params);
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The reencoder that adds the shadow stack.
struct Shadow {
    memory: u32,
    global: u32,
    next_func: u32,
    /// The parameter count of each defined function (the new local's index comes after the
    /// parameters and the function's own locals).
    defined_params: Vec<u32>,
    imported_funcs: u32,
}

impl Shadow {
    /// `sp = saved`.
    fn pop(&self, f: &mut Function, saved: u32) {
        f.instruction(&Instruction::LocalGet(saved));
        f.instruction(&Instruction::GlobalSet(self.global));
    }
}

impl Reencode for Shadow {
    type Error = core::convert::Infallible;

    fn parse_memory_section(
        &mut self,
        memories: &mut wasm_encoder::MemorySection,
        section: wasmparser::MemorySectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_memory_section(self, memories, section)?;
        memories.memory(MemoryType {
            minimum: 1,
            maximum: Some(1),
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i32_const(0),
        );
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        exports.export(MEMORY_EXPORT, ExportKind::Memory, self.memory);
        exports.export(SP_EXPORT, ExportKind::Global, self.global);
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.next_func;
        self.next_func += 1;
        // A body without a function declaring it makes the module invalid, the copy too.
        let params = self
            .defined_params
            .get((index - self.imported_funcs) as usize)
            .copied()
            .unwrap_or(0);
        let mut locals = Vec::new();
        let mut saved = params;
        for group in func.get_locals_reader()? {
            let (count, ty) = group?;
            saved = saved.saturating_add(count);
            locals.push((count, self.val_type(ty)?));
        }
        locals.push((1, ValType::I32));
        let mut f = Function::new(locals);
        let g = self.global;
        f.instruction(&Instruction::GlobalGet(g));
        f.instruction(&Instruction::LocalTee(saved));
        f.instruction(&Instruction::I32Const(0xfffc));
        f.instruction(&Instruction::I32And);
        f.instruction(&Instruction::I32Const(index as i32));
        f.instruction(&Instruction::I32Store(MemArg {
            offset: 0,
            align: 2,
            memory_index: self.memory,
        }));
        f.instruction(&Instruction::LocalGet(saved));
        f.instruction(&Instruction::I32Const(4));
        f.instruction(&Instruction::I32Add);
        f.instruction(&Instruction::GlobalSet(g));
        // The original instructions are copied as bytes (their indices do not change);
        // only the places where a pop goes in are parsed out.
        let body = func.as_bytes();
        let base = func.range().start;
        let mut reader = func.get_operators_reader()?;
        let mut copied = reader.original_position() - base;
        let mut depth = 0u32;
        while !reader.eof() {
            let at = reader.original_position() - base;
            let pop = match reader.read()? {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Try { .. }
                | Operator::TryTable { .. } => {
                    depth += 1;
                    false
                }
                Operator::End if depth == 0 => true,
                // A branch to the function's own label is a return.
                Operator::Br { relative_depth } if relative_depth == depth => true,
                Operator::End | Operator::Delegate { .. } => {
                    depth = depth.saturating_sub(1);
                    false
                }
                Operator::Return
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. } => true,
                _ => false,
            };
            if pop {
                f.raw(body[copied..at].iter().copied());
                self.pop(&mut f, saved);
                copied = at;
            }
        }
        let end = reader.original_position() - base;
        f.raw(body[copied..end].iter().copied());
        code.function(&f);
        Ok(())
    }
}

/// The module with the shadow stack added, or `None` when the rewrite does not handle it.
pub fn instrument(bytes: &[u8]) -> Option<Vec<u8>> {
    let s = scan(bytes).ok()?;
    if !(s.has_memory_section && s.has_global_section && s.has_export_section) {
        return None;
    }
    let mut shadow = Shadow {
        memory: s.memories,
        global: s.globals,
        next_func: s.imported_funcs,
        defined_params: s.defined_params,
        imported_funcs: s.imported_funcs,
    };
    let mut module = wasm_encoder::Module::new();
    shadow
        .parse_core_module(&mut module, Parser::new(0), bytes)
        .ok()?;
    Some(module.finish())
}

/// Function names from the module's `name` section (empty without one).
pub fn function_names(bytes: &[u8]) -> BTreeMap<u32, String> {
    let mut names = BTreeMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(Payload::CustomSection(c)) = payload else {
            continue;
        };
        let KnownCustom::Name(reader) = c.as_known() else {
            continue;
        };
        for sub in reader.flatten() {
            if let Name::Function(map) = sub {
                for naming in map.into_iter().flatten() {
                    names.insert(naming.index, String::from(naming.name));
                }
            }
        }
    }
    names
}

/// The frames to print, innermost first: `index: name (func N)` (`func N` without a
/// name), at most `wasi_host::run::MAX_FRAMES_PRINTED` of them and then `... N more`. `sp` is the shadow stack
/// pointer, `ring` the shadow memory's bytes.
pub fn backtrace(sp: u32, ring: &[u8], names: &BTreeMap<u32, String>) -> Vec<String> {
    let depth = sp / 4;
    let frames = (0..depth.min(RING_FRAMES)).map_while(|i| {
        let slot = ((depth - 1 - i) % RING_FRAMES) as usize * 4;
        let b = ring.get(slot..slot + 4)?;
        let func = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        Some((func, names.get(&func).map(String::as_str)))
    });
    wasi_host::run::format_frames(depth as usize, frames)
}

//! In-kernel tests of the guest backtraces the shadow stack gives: a function that returns
//! by a branch to its own label leaves no frame behind. The end-to-end `wasm-trap` and
//! `wasm-limits` cases check real programs' backtraces.

use crate::RunError;
use alloc::vec;
use alloc::vec::Vec;
use ktest::kernel_test;
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, GlobalSection, GlobalType,
    Instruction, MemorySection, MemoryType, Module, NameMap, NameSection, TypeSection, ValType,
};

/// `leaf` (func 0) returns with `br 0`, `trap` (func 1) traps, `_start` (func 2) calls
/// `leaf` `calls` times, then `trap`.
fn module(calls: usize) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    for _ in 0..3 {
        funcs.function(0);
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &wasm_encoder::ConstExpr::i32_const(0),
    );
    let mut exports = ExportSection::new();
    exports.export("_start", ExportKind::Func, 2);
    exports.export("memory", ExportKind::Memory, 0);
    let mut code = CodeSection::new();
    let mut leaf = Function::new([]);
    leaf.instruction(&Instruction::Br(0));
    leaf.instruction(&Instruction::End);
    code.function(&leaf);
    let mut trap = Function::new([]);
    trap.instruction(&Instruction::Unreachable);
    trap.instruction(&Instruction::End);
    code.function(&trap);
    let mut start = Function::new([(1, ValType::I32)]);
    for _ in 0..calls {
        start.instruction(&Instruction::Call(0));
    }
    start.instruction(&Instruction::Call(1));
    start.instruction(&Instruction::End);
    code.function(&start);
    let mut names = NameMap::new();
    names.append(0, "leaf");
    names.append(1, "trap");
    names.append(2, "_start");
    let mut name_section = NameSection::new();
    name_section.functions(&names);
    let mut m = Module::new();
    m.section(&types)
        .section(&funcs)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&code)
        .section(&name_section);
    m.finish()
}

kernel_test! {
    fn a_return_by_branch_leaves_no_frame_in_the_backtrace() {
        for calls in [1, 5] {
            match crate::run(&module(calls), vec!["t".into()], Vec::new(), Vec::new()) {
                Err(RunError::Trap { backtrace, .. }) => assert_eq!(
                    backtrace,
                    ["0: trap (func 1)", "1: _start (func 2)"],
                    "after {calls} calls of a function that returns by `br 0`"
                ),
                other => panic!("not a trap: {other:?}"),
            }
        }
    }
}

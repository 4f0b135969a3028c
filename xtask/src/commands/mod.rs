//! One module per subcommand. Each returns the process exit code.

pub mod bench;
pub mod boottime;
pub mod build;
pub mod build_crate;
pub mod fuzz;
pub mod host_compare;
pub mod network;
pub mod ports;
pub mod run;
pub mod test;
pub mod wasi_compare;
pub mod wasm_registry;

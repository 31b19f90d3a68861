//! The release bundle (feature `split`) is cut into chunks by wasm-split, which needs the
//! linker's relocations in the wasm.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let split = std::env::var_os("CARGO_FEATURE_SPLIT").is_some();
    let wasm = std::env::var("TARGET").is_ok_and(|t| t.starts_with("wasm32"));
    if split && wasm {
        println!("cargo:rustc-link-arg-bins=--emit-relocs");
    }
}

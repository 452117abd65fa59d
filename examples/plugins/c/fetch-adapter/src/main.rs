//! `fetch-adapter OUT.wasm`: write the preview-1 reactor adapter (a plugin is a library the host
//! calls, not a command with a `main`, so the reactor flavour) to OUT.wasm.
fn main() {
    let out = std::env::args().nth(1).expect("usage: fetch-adapter OUT.wasm");
    let bytes = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    std::fs::write(&out, bytes).unwrap_or_else(|e| panic!("cannot write {out}: {e}"));
}

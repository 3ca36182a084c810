//! The kind `loadline new-store` writes into a new plug-in crate
//! (`runner/templates/plugin/stencil.rs`), compiled and tested here as it
//! is generated: `cargo test --release --example plugin_template` runs its
//! conformance test, so a generated crate builds and passes as written.

fn main() {
    loadline::App::new()
        .name("stencil-bench")
        .store::<StencilKind>()
        .main()
}

include!("../templates/plugin/stencil.rs");

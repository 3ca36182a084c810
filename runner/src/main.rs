//! The `loadline` binary: loadline's command line with the built-in store
//! kinds. Everything, including mapping results to exit codes, is in
//! [`loadline::App`].

/// jemalloc allocates for the whole process (its unprefixed `malloc` also
/// serves RocksDB's C++), so `memory.*` statistics cover everything.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    loadline::App::new().main()
}

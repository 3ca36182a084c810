//! The `loadline` binary: loadline's command line with the built-in store
//! kinds. Everything, including mapping results to exit codes, is in
//! [`loadline::App`].

fn main() {
    loadline::App::new().main()
}

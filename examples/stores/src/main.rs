//! `loadline-stores`: the whole loadline command line with two more store
//! kinds, `fjall` and `redb`, next to the built-in ones.

fn main() {
    loadline_stores::app().main()
}

//! `cargo run -p uniffi-bindgen -- generate --library <libfamille_core.so> --language kotlin --out-dir …`
fn main() {
    uniffi::uniffi_bindgen_main()
}

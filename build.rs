// Expose the target interpreter's version as `Py_3_12`-style cfgs, for the few places
// that read CPython object layouts that changed between versions.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}

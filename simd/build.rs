//! Tells the crate's own tests how optimised they are, so that the exhaustive tests can
//! cover less ground in an unoptimised build (where they are ~20 times slower) and
//! everything in an optimised one. Nothing in the library uses it.

fn main() {
    let opt_level = std::env::var("OPT_LEVEL").unwrap_or_default();
    println!("cargo:rustc-env=RJSON_SIMD_OPT_LEVEL={opt_level}");
    println!("cargo:rerun-if-changed=build.rs");
}

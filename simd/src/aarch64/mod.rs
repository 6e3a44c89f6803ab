//! The AArch64 backend: [`Neon`] (Advanced SIMD, part of the AArch64 baseline).

mod neon;

pub use neon::Neon;

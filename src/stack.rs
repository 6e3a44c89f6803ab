//! The native stack guard: deep nesting must raise `RecursionError`, never overflow the
//! thread's stack, whatever `sys.setrecursionlimit()` allows.
//!
//! Written here rather than taken from `stacker` because it is twenty lines over libc,
//! and `stacker` would bring a C/assembly build step (`psm`) into the cross-built wheels.

use std::cell::Cell;

/// Room left below the lowest frame we enter: enough for a `default=` callback's Python
/// frames and for raising the exception.
const MARGIN: usize = 96 * 1024;

thread_local! {
    /// Lowest usable stack address of this thread plus `MARGIN`; 0 until first asked.
    static FLOOR: Cell<usize> = const { Cell::new(0) };
}

/// The address below which a recursive encoder or decoder must stop.
#[inline]
pub fn floor() -> usize {
    FLOOR.with(|floor| {
        if floor.get() == 0 {
            floor.set(stack_low().saturating_add(MARGIN));
        }
        floor.get()
    })
}

/// An address in the caller's current frame.
#[inline(always)]
pub fn here() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// The lowest address of this thread's stack (stacks grow down on every target we build).
fn stack_low() -> usize {
    // SAFETY: pthread_getattr_np initialises `attr` for the calling thread; we read the
    // stack bounds from it and destroy it exactly once. On failure we report a floor of 0
    // and the guard falls back to `Py_EnterRecursiveCall` alone.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if ok {
            addr as usize
        } else {
            0
        }
    }
}

//! A global allocator that counts the allocations of the threads that ask it to, so a test can
//! prove a path allocates nothing.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Allocations made by this thread while counting; `None` when not counting.
    static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Counts allocations (and reallocations) of the threads inside [`count_allocations`].
pub struct CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s. The only extra work is bumping a `const`-initialised
// thread-local `Cell`, which never allocates, so the allocator cannot re-enter itself; `try_with`
// tolerates threads whose locals are already torn down.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn bump() {
    let _ = COUNT.try_with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + 1));
        }
    });
}

/// Runs `f` and returns how many allocations this thread made inside it.
pub fn count_allocations(f: impl FnOnce()) -> u64 {
    start_counting();
    f();
    stop_counting()
}

/// Starts counting this thread's allocations from zero.
pub fn start_counting() {
    COUNT.with(|c| c.set(Some(0)));
}

/// Stops counting and returns the count since [`start_counting`].
pub fn stop_counting() -> u64 {
    COUNT.with(|c| c.replace(None)).unwrap_or(0)
}

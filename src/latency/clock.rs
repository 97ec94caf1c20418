//! The one clock every latency stamp is taken on, in every process.

use rustix::time::{ClockId, clock_gettime};

/// Nanoseconds on `CLOCK_MONOTONIC`: the same clock for every process on the host, so stamps
/// taken by the simulator and by the engine can be subtracted. It never jumps with NTP.
#[inline]
pub fn monotonic_ns() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    // CLOCK_MONOTONIC is never negative.
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_back_and_follows_real_time() {
        let a = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = monotonic_ns();
        assert!(b >= a + 5_000_000, "{a} then {b}");
    }
}

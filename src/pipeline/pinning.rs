//! Pinning the calling thread to a core from the config.

/// Pins the calling thread to `core` (when given) and logs the outcome; a failure is logged,
/// not fatal, since the thread still works unpinned.
pub fn pin_current_thread(role: &str, core: Option<usize>) {
    let Some(id) = core else {
        log::debug!("{role}: not pinned");
        return;
    };
    // Core ids were checked against core_affinity::get_core_ids() when the config was
    // resolved, so an id here is one the machine has (and below the libc limit of 1024).
    if core_affinity::set_for_current(core_affinity::CoreId { id }) {
        log::info!("{role}: pinned to core {id}");
    } else {
        log::warn!("{role}: could not pin to core {id}; running unpinned");
    }
}

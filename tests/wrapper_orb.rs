//! Placeholder: filled in by the orb wrapper work.

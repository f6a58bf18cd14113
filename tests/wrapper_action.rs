//! Placeholder: filled in by the action wrapper work.

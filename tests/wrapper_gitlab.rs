//! Placeholder: filled in by the gitlab wrapper work.

//! Placeholder: filled in by the jenkins wrapper work.

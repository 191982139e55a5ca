//! CloudButton.

//! The pipeline language. See docs/language/.

//! Lines in the build log of the step that called the plugin.
//!
//! Plain `println!`/`eprintln!` reach the log too (as info/error lines); these add a level.

use crate::bindings::pikoci::plugin::log::{write, Level};

pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message.as_ref());
}

pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message.as_ref());
}

pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message.as_ref());
}

pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message.as_ref());
}

//! The manifest every plugin carries in a `pikoci:manifest` custom section, so the host can say
//! what a component is and what it asks for without running it.
//!
//! The format is plain text, one `key=value` per line (`name`, `version`, `kind`, `wit`,
//! `description`, and one `capability` line per requested capability), so that a plugin written
//! in any language can produce it.

/// Copies a manifest's text into a fixed-size array, which a `#[link_section]` static needs.
#[doc(hidden)]
pub const fn to_section<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

#[doc(hidden)]
#[macro_export]
macro_rules! __manifest {
    ($kind:literal, name = [], caps = [$($cap:literal),*]) => {
        $crate::__manifest!($kind, name = [env!("CARGO_PKG_NAME")], caps = [$($cap),*]);
    };
    ($kind:literal, name = [$name:expr], caps = [$($cap:literal),*]) => {
        const _: () = {
            const TEXT: &str = concat!(
                "name=", $name, "\n",
                "version=", env!("CARGO_PKG_VERSION"), "\n",
                "kind=", $kind, "\n",
                "wit=pikoci:plugin@0.1.1\n",
                "description=", env!("CARGO_PKG_DESCRIPTION"), "\n",
                $("capability=", $cap, "\n",)*
            );
            #[link_section = "pikoci:manifest"]
            #[used]
            static MANIFEST: [u8; TEXT.len()] = $crate::__private::to_section(TEXT);
        };
    };
}

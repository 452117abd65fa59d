//! Enums stored as text columns (statuses, roles, kinds): one definition gives the stored names,
//! parsing with an error that names the allowed values, Display, and decoding from a row.

macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The name stored in the database and shown in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Reads the value from a text column.
            #[allow(dead_code)]
            pub(crate) fn decode(row: &sqlx::any::AnyRow, column: &str) -> Result<Self, sqlx::Error> {
                let text = crate::store::text(row, column)?;
                text.parse().map_err(|e: crate::error::StoreError| sqlx::Error::ColumnDecode { index: column.into(), source: e.into() })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::error::StoreError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(crate::error::StoreError::Invalid(format!(
                        "unknown {} `{other}`; expected one of: {}",
                        $what,
                        [$($text),*].join(", ")
                    ))),
                }
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use crate::{BuildStatus, Role};

    #[test]
    fn names_round_trip_and_unknown_ones_list_the_allowed() {
        for status in ["pending", "started", "succeeded", "failed", "errored", "aborted", "warning"] {
            assert_eq!(status.parse::<BuildStatus>().unwrap().to_string(), status);
        }
        let err = "admin".parse::<Role>().unwrap_err().to_string();
        assert_eq!(err, "unknown role `admin`; expected one of: viewer, operator, owner");
    }
}

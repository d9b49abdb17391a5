//! Wire types and pure rules shared by the Portail Famille server and the phones.
//!
//! Nothing here does I/O: the server applies these rules authoritatively and the
//! phone's core applies the very same code offline.

/// Defines an enum whose wire and database form is a stable snake_case string, with
/// the French label the apps display.
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable name used on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),* }
            }

            /// What a parent reads.
            pub fn label_fr(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::dossier::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)*
                    other => Err($crate::dossier::UnknownValue(other.to_owned())),
                }
            }
        }

        // Written by hand: the derive does not see `rename` through this macro, and the
        // document must show the wire names (with their French labels).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let labels = [$(concat!("`", $wire, "`: ", $label)),*].join(", ");
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),*]))
                    .description(Some(labels))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod api;
pub mod booking;
pub mod calendar;
pub mod calendar_view;
pub mod codes;
pub mod dossier;
pub mod files;
pub mod push;
pub mod validate;

pub use codes::ErrorCode;

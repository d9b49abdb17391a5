//! Wire types and pure rules shared by the Portail Famille server and the phones.
//!
//! Nothing here does I/O: the server applies these rules authoritatively and the
//! phone's core applies the very same code offline. A decision both sides take (can
//! this day still be cancelled free? which colour is this cell? who gets the freed
//! place?) is a function here, facts in and a decision value out.
//!
//! With the `uniffi` feature, the vocabularies the apps switch on (cell state,
//! `blocked_by`, error codes, queue state…) are exported to Swift and Kotlin as enums.

/// Defines an enum whose wire and database form is a stable snake_case string, with
/// the French words the apps display: `Variant => "wire", "label";` per value.
///
/// `@other Variant => "wire", "label";` (optional, last) names the variant a value
/// this version does not know becomes (a newer server's code), instead of an error.
///
/// Exported so that the server's and the core's own vocabularies (an outbox row's
/// channel, a local upload's state) have the same shape as the model's.
#[macro_export]
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => $wire:literal, $label:literal;)*
        $(@other $other:ident => $owire:literal, $olabel:literal;)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)*
            $(
                /// A value this version does not know (sent by a newer server).
                #[serde(rename = $owire)] $other,
            )?
        }

        impl $name {
            /// Every value, in the order of the definition.
            pub const ALL: &'static [$name] = &[$($name::$variant,)* $($name::$other)?];

            /// The stable name used on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)* $($name::$other => $owire,)? }
            }

            /// What a parent (or an agent) reads.
            pub fn label_fr(self) -> &'static str {
                match self { $($name::$variant => $label,)* $($name::$other => $olabel,)? }
            }

            /// The value a client sent: its wire name, or the same with other
            /// capitals where that is unambiguous (`CE1` for `ce1`).
            pub fn from_wire(raw: &str) -> Option<$name> {
                if let Ok(exact) = raw.parse() {
                    return Some(exact);
                }
                let folded = raw.trim().to_lowercase();
                let mut found = Self::ALL.iter().filter(|v| v.as_str() == folded);
                match (found.next(), found.next()) {
                    (Some(one), None) => Some(*one),
                    _ => None,
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <String as ::serde::Deserialize>::deserialize(d)?;
                $name::from_wire(&raw).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::custom(format!(
                        "valeur « {} » inconnue (valeurs possibles : {})",
                        raw,
                        [$($wire),*].join(", ")
                    ))
                })
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)*
                    $(_ => { let _ = s; Ok($name::$other) })?
                    #[allow(unreachable_patterns)]
                    other => Err($crate::UnknownValue(other.to_owned())),
                }
            }
        }

        /// Reads a stored value (`#[sqlx(try_from = "String")]` on the server).
        impl TryFrom<String> for $name {
            type Error = $crate::UnknownValue;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A vocabulary of the model: [`labelled_enum!`], exported to the apps as a uniffi
/// enum (feature `uniffi`) and described in the OpenAPI document with its wire
/// names and French labels (feature `openapi`).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($body:tt)* }) => {
        $crate::labelled_enum! {
            #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
            $(#[$meta])*
            $name { $($body)* }
        }

        // Written by hand: the derive does not see `rename` through the macro, and
        // the document must show the wire names (with their French labels).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let labels: Vec<String> = $name::ALL
                    .iter()
                    .map(|v| format!("`{}`: {}", v.as_str(), v.label_fr()))
                    .collect();
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::ALL.iter().map(|v| v.as_str())))
                    .description(Some(labels.join(", ")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

pub mod api;
pub mod billing;
pub mod booking;
pub mod calendar;
pub mod calendar_view;
pub mod certificates;
pub mod codes;
pub mod dossier;
pub mod files;
pub mod fr;
pub mod messages;
pub mod notice;
pub mod payments;
pub mod push;
pub mod queue;
pub mod requests;
pub mod text;
pub mod validate;

pub use codes::ErrorCode;

/// A stored or received value outside a vocabulary (a database edited by hand, a
/// newer server).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("valeur inconnue : {0}")]
pub struct UnknownValue(pub String);

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("famille_model");

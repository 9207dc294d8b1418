//! [`Spanned`]: a value and where it was written, for the `Raw*` structs.
//!
//! A thin wrapper over [`toml::Spanned`] (which the `toml` deserializer
//! fills in) so that the raw structs can also derive
//! [`schemars::JsonSchema`]: a spanned value is written exactly like the
//! value itself, so its schema is the value's (see [`super::schema`]).

use std::borrow::Cow;
use std::ops::Range;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

/// A value and its byte range in the scenario file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Spanned<T>(toml::Spanned<T>);

impl<T> Spanned<T> {
    /// The byte range of the value in the file.
    pub(crate) fn span(&self) -> Range<usize> {
        self.0.span()
    }

    /// The value.
    pub(crate) fn get_ref(&self) -> &T {
        self.0.get_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The deserializer must see `toml::Spanned` itself: that is how it
        // knows to hand over the span.
        toml::Spanned::<T>::deserialize(d).map(Spanned)
    }
}

/// The schema of the value: the span is not written.
impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

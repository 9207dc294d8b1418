//! `rehearsal schema`: the JSON Schema of scenario files, for editors
//! (taplo, Even Better TOML) and validators. Generated from the loader's
//! own types ([`crate::scenario::schema`]), with the system's axes.

use super::Target;

/// Prints the schema on stdout.
pub(super) fn print(target: Target<'_>) -> anyhow::Result<u8> {
    let schema = crate::scenario::schema(target.axes);
    outln!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(super::exit::OK)
}

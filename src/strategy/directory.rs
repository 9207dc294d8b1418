//! Axis `directory`: where a virtual role's directory lives, for the roles
//! that do not set their own `directory`.
//!
//! | kind | behaviour |
//! |---|---|
//! | `central` | one directory on node 0: never two activations of a key; keys behind a network partition are unreachable |
//! | `distributed` | a partition on every node of the role, each owning the keys a ring of the partitions it believes up gives it: each side of a network partition serves its keys, and a key may be activated on both until the partition heals |
//!
//! Only roles with `virtual = true` have a directory.

use super::{AxisValue, AxisValues, Defaults, Param, ValueError};
use crate::scenario::workflow::DirectoryKind;

/// One value of the `directory` axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Directory(pub DirectoryKind);

impl AxisValue for Directory {
    const NAME: &'static str = "directory";
    const KINDS: &'static [&'static str] = &["central", "distributed"];
    const PARAMS: &'static [&'static str] = &[];

    fn default_value(_: &Defaults<'_>) -> Directory {
        Directory(DirectoryKind::Central)
    }

    fn build(kind: &str, _: &[Param], _: &Defaults<'_>) -> Result<Directory, ValueError> {
        Ok(Directory(if kind == "distributed" { DirectoryKind::Distributed } else { DirectoryKind::Central }))
    }

    fn wrap(values: Vec<Directory>) -> AxisValues {
        AxisValues::Directory(values)
    }

    fn unwrap(values: &AxisValues) -> Option<&[Directory]> {
        match values {
            AxisValues::Directory(v) => Some(v),
            _ => None,
        }
    }
}

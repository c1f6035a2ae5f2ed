//! Names of the enums coord writes to files and prints: one table per enum gives `as_str` and
//! `Display` (padded, so `{:<10}` lines up), and matches what serde writes.

/// Gives an enum `ALL` (every value, once), `as_str` (each value's name, as in its files) and a
/// padding `Display`.
macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order the table names them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name, as coord's files and output write it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    fn same<T: serde::Serialize + Copy + std::fmt::Display>(all: &[T]) {
        for v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), v.to_string());
        }
    }

    #[test]
    fn names_are_what_serde_writes() {
        use crate::state::events::Kind as E;
        same(&[
            E::Queued,
            E::Blocked,
            E::Unblocked,
            E::Claimed,
            E::Started,
            E::Completed,
            E::Failed,
            E::Requeued,
            E::Released,
            E::Recovered,
            E::Cancelled,
            E::Retried,
            E::Purged,
            E::Asked,
            E::Answered,
            E::Submitted,
            E::Approved,
            E::Rejected,
        ]);
        use crate::policy::lease::Mode;
        same(&[Mode::Exec, Mode::TaskCommand, Mode::Handoff]);
        use crate::model::report::Status;
        same(&[
            Status::Completed,
            Status::Failed,
            Status::Cancelled,
            Status::Invalid,
        ]);
        use crate::model::checks::Check;
        same(&[
            Check::Exists,
            Check::MinWords,
            Check::MaxWords,
            Check::Contains,
            Check::Verify,
        ]);
        use crate::verbs::doctor::Kind as D;
        same(&[
            D::Unsafe,
            D::Leftover,
            D::Duplicate,
            D::MissingReport,
            D::Blocked,
            D::NeverRuns,
            D::Filesystem,
            D::OrphanClaims,
            D::InterruptedRejection,
        ]);
        use crate::model::task::Outcome;
        same(&[
            Outcome::Failed,
            Outcome::Released,
            Outcome::Lost,
            Outcome::Retried,
            Outcome::Asked,
            Outcome::Rejected,
        ]);
    }
}

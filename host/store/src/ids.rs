//! Typed row ids, so a build id can never be passed where a pipeline id is expected.

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    )*};
}

ids! {
    TeamId;
    UserId;
    TokenId;
    PipelineId;
    /// One set of a pipeline, with its compiled plan.
    PipelineVersionId;
    JobId;
    ResourceId;
    /// A resource version row (not the version's content).
    VersionId;
    BuildId;
    TriggerEventId;
}

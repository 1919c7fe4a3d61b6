//! What this binary is: the package version and the git commit it was built from (build.rs).

/// The package version, e.g. "0.1.0".
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short git commit hash of the build, or "unknown" for a build outside a git checkout
/// (build.rs explains the order it looks in).
pub const GIT_COMMIT: &str = env!("FRAMESCOPE_GIT_COMMIT");

/// "0.1.0 (1a2b3c4)": what `framescope --version` prints after the name, and the About box shows.
pub const VERSION_WITH_COMMIT: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("FRAMESCOPE_GIT_COMMIT"), ")");

/// The version every DurableIO command prints for `--version`, from this one place (issue 17): the top released
/// version in CHANGELOG.md, with `+unreleased` while `## [Unreleased]` holds changes not yet released (`0.0.0`:
/// nothing is released yet). A test compares it with CHANGELOG.md; bump it when a release heading is added.
///
/// ```swift
/// static let configuration = CommandConfiguration(commandName: "durable-extract", version: DurableVersion.current)
/// ```
public enum DurableVersion {
    /// `0.0.0+unreleased` until the first release; then e.g. `0.1.0`.
    public static let current = "0.0.0+unreleased"
}

/// DurableIO's paths, permissions and errnos are swift-system's `FilePath`, `FilePermissions` and `Errno`; they
/// come with `import DurableIO`, so a program holding a `String` path writes `FilePath(path)` without having to
/// find out which module declares it (string literals convert on their own).
///
/// ```swift
/// import DurableIO
///
/// let ledger = try KeyLedger.open(at: FilePath(CommandLine.arguments[1]))   // no `import SystemPackage`
/// ```
@_exported import SystemPackage

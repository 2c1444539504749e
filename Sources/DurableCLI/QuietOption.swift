import ArgumentParser

/// `--quiet`, with one meaning in every DurableIO command (issue 17): no progress display; the final one-line
/// summary, notes, warnings and errors still go to standard error. Declared once here so each
/// `--help` says it in the same words.
///
/// ```swift
/// struct Run: AsyncParsableCommand {
///     @OptionGroup var output: QuietOption
///     func run() async throws {
///         let renderer = ProgressRenderer(style: output.quiet ? .quiet : .automatic)
///         renderer.conclude("complete: 152,265 rows verified")   // printed with --quiet too
///     }
/// }
/// ```
public struct QuietOption: ParsableArguments, Sendable {
    /// What `--quiet` does, as every `--help` says it.
    public static let help = "No progress display; the final one-line summary, notes, warnings and errors still go to standard error."

    @Flag(help: ArgumentHelp(QuietOption.help))
    public var quiet = false

    public init() {}
}

import DurableCLI
import Foundation
import Testing

/// `--version` on every CLI from one place (issue 17), matching CHANGELOG.md: the top released version
/// (`## [X.Y.Z] - date`; `0.0.0` before the first release), with `+unreleased` while `## [Unreleased]` holds changes.
@Suite("--version of every CLI matches CHANGELOG.md", .inATestSlot)
struct VersionTests {
    /// The package's root, found from this file's path.
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// What `--version` must print, read from CHANGELOG.md.
    static func expectedVersion() throws -> String {
        let text = try String(contentsOf: root.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        let headings = text.split(separator: "\n").filter { $0.hasPrefix("## [") }
        let released = headings.lazy
            .compactMap { line -> String? in
                let name = line.dropFirst(4).prefix { $0 != "]" }
                return name.lowercased() == "unreleased" ? nil : String(name)
            }
            .first ?? "0.0.0"
        // Entries under [Unreleased]: a line starting with "- " before the next "## " heading.
        var unreleased = false
        if let start = text.range(of: "## [Unreleased]") {
            let rest = text[start.upperBound...]
            let section = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
            unreleased = section.split(separator: "\n").contains { $0.hasPrefix("- ") }
        }
        return unreleased ? released + "+unreleased" : released
    }

    @Test("durable-extract, durable-resume and durable-backfill --version print CHANGELOG.md's version, the constant's")
    func version() async throws {
        let expected = try Self.expectedVersion()
        #expect(DurableVersion.current == expected, "DurableVersion.current is \(DurableVersion.current); CHANGELOG.md says \(expected)")
        for tool in ["durable-extract", "durable-resume", "durable-backfill"] {
            let r = try await BuiltCLI.run(tool, ["--version"])
            #expect(r.status == 0 && r.stdout == expected + "\n", "\(tool) --version: exit \(r.status), \(r.stdout.debugDescription) \(r.stderr)")
        }
    }
}

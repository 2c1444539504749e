import ArgumentParser
import DurableCLI
import DurableRunStore

/// `durable-resume ingest`: loads a source into the database once.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a CSV or JSONL source into the database (skipped when the same file is already there).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var source: SourceOptions

    @Flag(help: "Print one JSON object (schema 1).")
    var json = false

    func run() async throws {
        do {
            let report = try await database.using { opened in
                try await opened.store.ingest(try source.file(), allowNewVersion: source.newVersion)
            }
            let s = report.source
            if json {
                try JSONOutput.print(IngestJSON(report: report))
            } else if report.skipped {
                say("source \(s.name) v\(s.version) already ingested (sha256 \(s.checksum)): skipped, \(s.itemCount) items")
            } else {
                say("ingested \(s.name) v\(s.version): \(s.itemCount) items, sha256 \(s.checksum)")
            }
        } catch { throw fail(error, store: database) }
    }
}

/// The source options of `ingest` and `start`.
struct SourceOptions: ParsableArguments {
    @Option(help: "The source file: CSV with a header row, or JSONL.")
    var source: String

    @Option(name: .customLong("id"), help: "An id column (repeat for a composite id: --id incident_id --id narrative_type).")
    var idColumns: [String] = []

    @Option(help: "csv or jsonl (default: from the extension).")
    var format: SourceFile.Format?

    @Option(help: "The name the source is stored under (default: the file's name).")
    var name: String?

    @Flag(help: "Store a different file under an existing name as its next version (runs stay pinned to theirs).")
    var newVersion = false

    func file() throws -> SourceFile {
        try SourceFile(path: source, format: format, idColumns: idColumns, name: name)
    }
}

extension SourceFile.Format: ExpressibleByArgument {}

struct IngestJSON: Encodable {
    var source: String
    var version: Int
    var items: Int
    var sha256: String
    var skipped: Bool

    init(report: IngestReport) {
        source = report.source.name
        version = report.source.version
        items = report.source.itemCount
        sha256 = report.source.checksum
        skipped = report.skipped
    }
}

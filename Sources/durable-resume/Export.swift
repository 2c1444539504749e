import ArgumentParser
import DurableCLI
import DurableIO
import DurableRunStore
import Foundation

/// `durable-resume export`: writes a run's results to a JSON Lines or CSV file, verified.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a run's results (item id, status, result or error, attempts) to a JSON Lines or CSV file.",
        discussion: """
            The spec's flow is "process; export; finalize": this is the export, so an operator needs no SQL. One \
            record per recorded result, in source order, with the keys item_id, status (succeeded or failed), result \
            (the output's JSON), error, error_category, attempts and last_attempt_at; items with no result yet are \
            not exported (`status` counts them). JSON Lines: every key present, null when empty. CSV (RFC 4180, \
            written with CSV.swift): a header row, result as JSON text, an empty cell for null.

            The file is replaced atomically (written to a temporary file beside it, fsync'd, renamed, the directory \
            fsync'd): a reader or a crash sees the whole previous file or the whole new one. The file is then read \
            back and its records counted against the store's count of the run's results; a mismatch exits 3 with \
            both numbers (results that disagree with the run's counts: nothing is written; a file that reads back \
            short: it is removed). The results are read in one snapshot, so exporting a run that is being worked on is \
            safe: the file holds the results committed at that moment. Works on SQLite and PostgreSQL; nothing is \
            written for an unknown run id (exit 1).

            \(DurableExitCode.helpText)
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The run to export (default: EXPERIMENT_ID from the environment).")
    var runID: String?

    @Flag(help: "Export the latest run (newest first, as `list` shows them).")
    var latest = false

    @Option(help: "jsonl or csv (default: from --output's extension, else jsonl).")
    var format: ResultExport.Format?

    @Option(help: "The file to write (replaced atomically; its directory must exist).")
    var output: String

    @Flag(help: "Print one JSON object (schema 1) describing what was written.")
    var json = false

    func validate() throws {
        if latest && runID != nil { throw ValidationError("give --run-id or --latest, not both") }
        if !latest && runID == nil && Environment.value("EXPERIMENT_ID") == nil {
            throw ValidationError("give --run-id ID or --latest (or set EXPERIMENT_ID)")
        }
    }

    /// `--format`, else `.csv` for an output ending in `.csv`, else JSON Lines.
    var resolvedFormat: ResultExport.Format {
        format ?? (output.lowercased().hasSuffix(".csv") ? .csv : .jsonl)
    }

    func run() async throws {
        do {
            let report = try await database.using(readOnly: true) { opened in
                let id: String
                if latest {
                    guard let run = try await opened.store.runs().first else {
                        throw DurableRunStoreError(.runNotFound, operation: "export", message: "there are no runs in \(database.display)")
                    }
                    id = run.id
                } else {
                    id = runID ?? Environment.value("EXPERIMENT_ID")!
                }
                return try await opened.store.exportResults(ofRun: id, format: resolvedFormat, to: FilePath(output))
            }
            if json {
                try JSONOutput.print(ExportJSON(report))
            } else {
                say("exported run \(report.run.id): \(report.records) results (\(report.succeeded) succeeded, \(report.failed) failed) to \(report.path) as \(report.format.rawValue), \(report.bytes) bytes, verified")
                if report.run.missingCount > 0 {
                    note("note: \(report.run.missingCount) of the run's \(report.run.totalItems) items have no result yet and are not in the file")
                }
            }
        } catch { throw fail(error) }
    }
}

extension ResultExport.Format: ExpressibleByArgument {}

/// `export --json`: what was written, read back.
struct ExportJSON: Encodable {
    var runID: String
    var output: String
    var format: String
    var records: Int
    var succeeded: Int
    var failed: Int
    var missing: Int
    var bytes: Int64
    var verified: Bool

    init(_ report: ResultExport.Report) {
        runID = report.run.id
        output = report.path.string
        format = report.format.rawValue
        records = report.records
        succeeded = report.succeeded
        failed = report.failed
        missing = report.run.missingCount
        bytes = report.bytes
        verified = true
    }

    enum CodingKeys: String, CodingKey {
        case output, format, records, succeeded, failed, missing, bytes, verified
        case runID = "run_id"
    }
}

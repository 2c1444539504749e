/// The checks a resume makes before any work, shared by ``ResumableRunner`` and ``LeasedWorker`` (each calls them in
/// its documented order): the run exists, it is not completed, the source file still has the run's checksum, and
/// the settings given on the command line are compared with the stored (authoritative) ones.
///
/// ```swift
/// let run = try await ResumeChecks.existingRun(id, in: store, operation: "resume", listing: "--db FILE")
/// try ResumeChecks.notCompleted(run, operation: "resume", nothingTo: "resume")
/// try await ResumeChecks.sourceMatches(request.sourceFile, run: run)
/// ResumeChecks.reportDrift(of: run, from: request.given, notice: options.notice)
/// ```
package enum ResumeChecks {
    /// The run `id`, or ``DurableRunStoreError/Code/runNotFound``.
    package static func existingRun(
        _ id: String, in store: any RunStore, operation: String, listing: String
    ) async throws -> RunRecord {
        guard let run = try await store.run(id: id) else {
            throw DurableRunStoreError.runNotFound(id, operation: operation, listing: listing)
        }
        return run
    }

    /// Refuses a `completed` run with ``DurableRunStoreError/Code/alreadyCompleted``: its counts, when it finished
    /// (with `sayingWhen`), and that there is nothing to `nothingTo`.
    package static func notCompleted(
        _ run: RunRecord, operation: String, sayingWhen: Bool = false, nothingTo: String
    ) throws {
        guard run.status == .completed else { return }
        let finished = sayingWhen ? ", finished \(run.finishedAt.map { Timestamp.string($0) } ?? "earlier")" : ""
        throw DurableRunStoreError(
            .alreadyCompleted, operation: operation,
            message: "run \(run.id) is completed: \(run.completedCount) of \(run.totalItems) items succeeded\(finished); there is nothing to \(nothingTo)",
            hint: "Start a new run to process the items again.")
    }

    /// With a source file given, refuses one whose checksum is not the run's
    /// (``DurableRunStoreError/Code/checksumMismatch``, naming both); the file is read off the cooperative pool.
    package static func sourceMatches(_ file: String?, run: RunRecord) async throws {
        guard let file else { return }
        let checksum = try await SourceChecksum.sha256OffThePool(ofFileAt: file)
        guard checksum == run.sourceChecksum else {
            throw DurableRunStoreError(
                .checksumMismatch, operation: "resume",
                message: "\(file) has sha256 \(checksum), but run \(run.id) was started on \(run.sourceName) v\(run.sourceVersion) with sha256 \(run.sourceChecksum)",
                hint: "The source changed since the run started. Resume without --source to use the items stored in the database, or ingest the new file with --new-version and start a new run.")
        }
    }

    /// Says each setting given that differs from the stored configuration (which is authoritative).
    package static func reportDrift(
        of run: RunRecord, from given: RunConfiguration.Overrides, notice: (@Sendable (String) -> Void)?
    ) {
        for line in run.configuration.drift(from: given) {
            notice?("warning: configuration drift: \(line) — the stored configuration is authoritative")
        }
    }
}

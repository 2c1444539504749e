import DurableIO
import Foundation

extension LeasedWorker {
    /// Creates a run over `source` and works on it as its first worker; others join with ``work(runID:process:)``.
    ///
    /// - Parameters:
    ///   - source: the ingested source version the run is over (``RunStore/ingest(_:allowNewVersion:)``); its
    ///     items are the run's.
    ///   - name: a name for the run, shown by `list` and `status`; `nil` for none.
    ///   - configuration: the run's stored settings (command, batch size, …), validated first; later sessions
    ///     and other workers use them.
    ///   - announce: called once the run exists, before any item is claimed (the CLI prints `run <ID>`).
    ///   - process: processes one item.
    public func start(
        source: SourceVersion, name: String?, configuration: RunConfiguration,
        announce: @Sendable (RunRecord) -> Void = { _ in }, process: @escaping ResumableRunner.Process
    ) async throws -> WorkerOutcome {
        try configuration.validate()
        let run = try await store.createRun(
            id: UUID().uuidString.lowercased(), name: name, source: source, configuration: configuration, startedAt: Date())
        announce(run)
        return try await execute(run: run, process: process)
    }

    /// Resumes a `running` (interrupted) or `failed` run and works on it; other workers may join once it runs.
    ///
    /// Checks, in order: the status (a `completed` run is refused), then the source file's checksum when one is
    /// given. There is no run lock to take: items are excluded one by one, by their leases. The stored
    /// configuration is authoritative (drift is reported through ``Options/notice`` and ignored). With
    /// ``WorkSelection/retryErrorsOnly`` the errored items are reopened for claiming; items with no result are
    /// claimable in either case.
    ///
    /// - Parameters:
    ///   - runID: the run to resume.
    ///   - request: which items to process (missing ones by default), the source file to check and the settings
    ///     given on the command line.
    ///   - announce: called once the checks passed, before any item is claimed.
    ///   - makeProcess: builds the item processor from the *stored* configuration.
    public func resume(
        runID: String, request: ResumableRunner.ResumeRequest = .init(),
        announce: @Sendable (RunRecord) -> Void = { _ in }, makeProcess: (RunConfiguration) -> ResumableRunner.Process
    ) async throws -> WorkerOutcome {
        let found = try await ResumeChecks.existingRun(runID, in: store, operation: "resume", listing: "--store URL")
        try ResumeChecks.notCompleted(found, operation: "resume", nothingTo: "resume")
        try await ResumeChecks.sourceMatches(request.sourceFile, run: found)
        ResumeChecks.reportDrift(of: found, from: request.given, notice: options.notice)
        let resumed = try await store.markResumed(runID: runID)
        if request.selection == .retryErrorsOnly {
            let reopened = try await store.reopenErrors(runID: runID)
            options.notice?("\(reopened) errored items reopened for retry")
        }
        announce(resumed)
        return try await execute(run: resumed, process: makeProcess(resumed.configuration))
    }
}

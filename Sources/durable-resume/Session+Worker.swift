import ArgumentParser
import DurableCLI
import DurableIO
import DurableRunStore
import Foundation
import Logging

extension Session {
    /// Reports one worker's session (PostgreSQL) and returns its exit code: 0 when the run is completed (by this
    /// worker or another), 1 when it ended failed, 130/143/129 when stopped.
    func report(_ outcome: WorkerOutcome, summary: Summary) throws -> ExitCode {
        let run = outcome.run
        let counts = Self.counts(of: run)
        let session = "this worker: \(outcome.processed) processed, \(outcome.recorded) recorded, \(outcome.refused) refused (lease expired) in \(String(format: "%.1f", outcome.seconds)) s"
        try JSONOutput.summary(WorkerOutcomeJSON(outcome), printing: json)
        if let reason = outcome.stoppedBy {
            summary.finish("stopped by \(reason): \(counts); \(session); every finished result is committed, unstarted claims released")
            note("rejoin with: durable-resume work \(storeArgument) --run-id \(run.id)")
            return ExitCode(DurableExitCode(stoppedBy: reason).rawValue)
        }
        switch run.status {
        case .completed:
            summary.finish("run \(run.id) completed: \(counts); \(session)")
            return .success
        case .failed:
            summary.finish("run \(run.id) failed: \(counts); \(session)")
            note("resume with: durable-resume resume \(storeArgument) --run-id \(run.id)\(run.failedCount > 0 ? " --retry-errors-only" : "")")
            return ExitCode(DurableExitCode.failure.rawValue)
        case .running:
            // Another worker finalizes it; this one found nothing left to claim.
            summary.finish("run \(run.id): nothing left for this worker; \(counts); \(session)")
            return .success
        }
    }
}

/// The `--json` summary of a worker's session.
struct WorkerOutcomeJSON: Encodable {
    var run: RunJSON
    var processed: Int
    var succeeded: Int
    var failed: Int
    var recorded: Int
    var refused: Int
    var abandoned: Int
    var seconds: Double
    var finalized: Bool
    @JSONNullable var stoppedBy: String?

    init(_ outcome: WorkerOutcome) {
        run = RunJSON(outcome.run, state: nil)
        processed = outcome.processed
        succeeded = outcome.succeeded
        failed = outcome.failed
        recorded = outcome.recorded
        refused = outcome.refused
        abandoned = outcome.abandoned
        seconds = outcome.seconds
        finalized = outcome.finalized
        stoppedBy = outcome.stoppedBy.map { "\($0)" }
    }

    enum CodingKeys: String, CodingKey {
        case run, processed, succeeded, failed, recorded, refused, abandoned, seconds, finalized
        case stoppedBy = "stopped_by"
    }
}

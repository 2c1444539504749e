import DurableCLI
import DurableIO
import DurablePostgres
import DurableRun
import DurableRunStore
import DurableSQLite
import DurableStores
import Foundation
import Testing

@Suite("DurableStores: a store from its location; exit codes from the error; item failures by reason", .inATestSlot)
struct DurableStoresTests {
    @Test func aLocationIsAFileUnlessItIsAPostgresURL() throws {
        #expect(try RunStoreLocation(parsing: "runs.sqlite") == .sqlite(path: "runs.sqlite"))
        let url = try RunStoreLocation(parsing: "postgres://worker:secret@db.internal/runs", environment: [:])
        #expect(url.isPostgres)
        #expect(!"\(url)".contains("secret"))
        #expect(throws: DurablePostgresError.self) { try RunStoreLocation(parsing: "postgres://", environment: [:]) }
    }

    @Test func openingALocationGivesTheStoreAndLatestResumableRunSkipsCompletedOnes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stores-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("runs.sqlite").path
        let source = directory.appendingPathComponent("items.csv").path
        try "id,text\n1,a\n2,b\n".write(toFile: source, atomically: true, encoding: .utf8)
        try await OpenedRunStore.using(.sqlite(path: path)) { opened in
            guard case .locked(let store) = opened, store is SQLiteRunStore else { Issue.record("not the SQLite store"); return }
            let first = try await opened.store.resolveSource(at: source, idColumns: ["id"])
            #expect(!first.skipped && first.source.itemCount == 2)
            let again = try await opened.store.resolveSource(at: source)  // by checksum, no id column needed
            #expect(again.skipped && again.source == first.source)
            #expect(try await opened.store.latestResumableRun() == nil)
            let outcome = try await opened.start(
                source: first.source, name: nil, configuration: RunConfiguration(command: "cat"), process: { _ in Array("{}".utf8) })
            #expect(outcome.run.status == .completed)
            #expect(try await opened.store.latestResumableRun() == nil)
            #expect(try await opened.status(ofRun: nil)?.run.id == outcome.run.id)
        }
    }

    @Test func exitCodesComeFromTheErrorsFailureClass() {
        let code = { (error: any Error) in DurableExitCode(for: error) }
        #expect(code(DurableRunStoreError(.checksumMismatch, operation: "resume", message: "m")) == .consistency)
        #expect(code(DurableRunStoreError(.sourceChanged, operation: "ingest", message: "m")) == .consistency)
        #expect(code(DurableRunStoreError(.alreadyCompleted, operation: "resume", message: "m")) == .alreadyCompleted)
        #expect(code(DurableRunStoreError(.runNotFound, operation: "resume", message: "m")) == .failure)
        #expect(code(DurablePostgresError(.schema, operation: "open store", message: "m")) == .consistency)
        #expect(code(DurablePostgresError(.unreachable, operation: "open store", message: "m")) == .failure)
        #expect(code(DurableSQLiteError(.schema, operation: "open", message: "m")) == .failure)
        #expect(code(CancellationError()) == .failure)
        let error = DurableSQLiteError(.invalidInput, operation: "open", message: "m", hint: "h")
        #expect(error.description == "open failed: m" && error.detailedDescription == "open failed: m\nh")
    }

    @Test func anItemCommandFailureSaysWhyAsAReason() async throws {
        do {
            _ = try await ItemCommand("exit 3").run()
            Issue.record("should have failed")
        } catch let failure as ItemCommandFailure {
            #expect(failure.reason == .exited(3))
        }
        do {
            _ = try await ItemCommand("sleep 30", timeout: .milliseconds(100), grace: .milliseconds(100)).run()
            Issue.record("should have timed out")
        } catch let failure as ItemCommandFailure {
            #expect(failure.reason == .timedOut(.milliseconds(100)))
        }
    }
}

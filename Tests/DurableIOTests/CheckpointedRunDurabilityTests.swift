import DurableIO
import DurableRun
import Foundation
import Synchronization
import SystemPackage
import Testing

/// CheckpointedRun on the shared ``Scheduler`` with its per-item commit policy: every acknowledged item (each call
/// of `progress`) has its row in staging and its key in the ledger already — what a kill at that moment would find.
@Suite("Checkpointed run durable per item", .inATestSlot)
struct CheckpointedRunDurabilityTests {
    let keys = (0..<60).map { RecordKey(String(format: "clip_%06d", $0)) }

    /// What the files on disk hold at one acknowledgement.
    struct Sighting: Sendable {
        var acknowledged: Int
        var ledgered: Int
        var ledgeredWithoutRow: Int
    }

    @Test func everyAcknowledgedItemIsInStagingAndTheLedgerBeforeTheNext() async throws {
        let dir = TemporaryDirectory()
        let output = dir.file("out.jsonl")
        let ledgerPath = FilePath(output.string + ".done")
        let stagingPath = FilePath(output.string + ".rows.jsonl")
        let sightings = Mutex<[Sighting]>([])
        let stop = StopRequest()
        let options = CheckpointedRun.Options(
            jobs: 1, stallTimeout: nil, heartbeatInterval: nil, recovery: quietRecovery,
            progress: { snapshot in
                // Read from disk as the next process would after a kill -9 right here.
                let ledgered = (try? KeyLedger.recover(at: ledgerPath).keys) ?? RecordKeySet()
                let staged = (try? KeyCensus.scan(rowsAt: stagingPath).keys) ?? RecordKeySet()
                sightings.withLock {
                    $0.append(Sighting(
                        acknowledged: snapshot.completed, ledgered: ledgered.count,
                        ledgeredWithoutRow: ledgered.subtracting(staged).count))
                }
                if snapshot.completed == 25 { stop.request(.requested("test")) }
            })
        let run = CheckpointedRun(output: output, options: options)
        let error = await #expect(throws: RunError.self) {
            _ = try await run.run(inputs: keys, stop: stop) { CheckpointedRunTests.row($0) }
        }
        #expect(error?.code == .interrupted)
        let seen = sightings.withLock { $0 }
        #expect(seen.count == 26 && seen.first?.acknowledged == 0, "one call before the first item, then one per item")
        #expect(seen.allSatisfy { $0.ledgered == $0.acknowledged }, "each acknowledgement finds its key ledgered, no batch held back")
        #expect(seen.allSatisfy { $0.ledgeredWithoutRow == 0 }, "each ledgered key's row is in staging first")

        // The next run finds every acknowledged item done.
        let resumed = try await CheckpointedRun(
            output: output,
            options: .init(jobs: 4, stallTimeout: nil, heartbeatInterval: nil, recovery: quietRecovery)
        ).run(inputs: keys) { CheckpointedRunTests.row($0) }
        #expect(resumed.alreadyDone == 25 && resumed.completed == 35 && resumed.rowsVerified == 60)
    }
}

import DurableIO
import Foundation
import SystemPackage
import Testing

/// The space still needed (issue 16): bytes per row so far × pending (and, for durable-extract, the new copy of the
/// output that finalize writes), in `status` and the heartbeat.
@Suite("Disk space still needed, in status and the heartbeat", .inATestSlot)
struct SpaceEstimateTests {
    @Test("the arithmetic: per item × pending, plus the one-off cost; nil before any item; fits against the free space")
    func arithmetic() throws {
        #expect(SpaceEstimate(bytesSoFar: 0, itemsSoFar: 0, pendingItems: 10) == nil)
        let estimate = try #require(SpaceEstimate(bytesSoFar: 1_200_000, itemsSoFar: 10_000, pendingItems: 140_000, oneOffBytes: 18_000_000, freeBytes: 9_000_000_000))
        #expect(estimate.neededBytes == 34_800_000)
        #expect(estimate.fits)
        #expect("\(estimate)" == "about 34.8 MB more (120 B per item × 140,000 pending, and 18.0 MB to finalize); 9.00 GB free")
        let tight = try #require(SpaceEstimate(bytesSoFar: 5_000, itemsSoFar: 1, pendingItems: 1_000, freeBytes: 1_000_000))
        #expect(!tight.fits)
        #expect("\(tight)".hasSuffix("1.0 MB free — not enough"), "\(tight)")
    }

    @Test("durable-extract: the heartbeat record and `status --inputs` carry the estimate while a run works")
    func extractHeartbeatAndStatus() async throws {
        let fixture = ExtractFixture()
        try fixture.makeInputs(30)
        // Every row is the same size: {"key":…,"pad":"000…"} — 200 bytes of padding. Inputs past f0004 wait for the
        // gate file, so the run is still going (items pending) while the test looks.
        let gate = fixture.dir.file("gate").string
        let command = #"case {} in *f000[0-4]*) ;; *) while [ ! -f '\#(gate)' ]; do sleep 0.05; done ;; esac; printf '{"pad":"%0200d"}' 0"#
        let child = try ChildProcess(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", fixture.inputs.string, "--output", fixture.output.string, "--jobs", "2", "--heartbeat", "300ms",
             "--min-free-disk", "0", "--command", command])
        defer { child.kill9() }
        let record = FilePath(fixture.output.string + ".heartbeat")
        var beat: HeartbeatRecord?
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let last = Heartbeat.lastBeat(at: record), last.spaceNeeded != nil, last.progress.completed >= 2 { beat = last; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let space = try #require(beat?.spaceNeeded, "no heartbeat with an estimate: \(child.text)")
        #expect(space.bytesPerItem > 200 && space.bytesPerItem < 260, "\(space)")
        #expect(space.pendingItems > 0 && space.pendingItems < 30, "\(space)")
        #expect(space.oneOffBytes >= Int64(space.bytesPerItem * 30) - 1, "the finalized output holds every row: \(space)")
        #expect(space.freeBytes != nil)

        let status = await CLIRun(ChildProcess.built("durable-extract"), ["status", "--output", fixture.output.string, "--inputs", fixture.inputs.string])
        #expect(status.stdout.contains("disk: about"), "\(status.stdout)")
        let json = await CLIRun(ChildProcess.built("durable-extract"), ["status", "--output", fixture.output.string, "--inputs", fixture.inputs.string, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        let pending = try #require(object["pending"] as? Int)
        #expect(pending >= 25, "\(object)")
        let needed = try #require(object["space_needed_bytes"] as? Int, "\(object)")
        #expect(needed >= pending * 200, "\(object)")
        writeRaw("", to: FilePath(gate))
        #expect(await child.wait() == 0, "\(child.text)")
    }

    @Test("durable-resume status: a run killed half way shows the disk it still needs")
    func resumeStatus() async throws {
        let f = ResumeFixture(count: 40)
        // Items past the 10th never finish: the run is killed with 30 items not done.
        let command = #"input=$(cat); [ {} -gt 10 ] && sleep 30; printf '%s' "$input""#
        let cli = try ResumeCLI(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", command, "--batch-size", "2",
             "--batch-seconds", "0.2", "--min-free-disk", "0"], in: f.dir)
        let id = try #require(await cli.runID(), "\(cli.stderr)")
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? f.committed(runID: id)) ?? 0 < 6, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        cli.signal(SIGKILL)
        _ = await cli.wait()
        let status = try await ResumeCLI.run(["status", "--db", f.db, "--run-id", id], in: f.dir)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("  disk: about "), "\(status.stdout)")
        #expect(status.stdout.contains(" pending"), "\(status.stdout)")
    }
}

import DurableIO
import Foundation
import SystemPackage
import Testing

/// Real processes racing to reclaim a dead holder's `LockFile`, with one of them paused in the middle of its reclaim
/// (the SPIN model's finding 1, `Documentation/model/README.md`): the window is microseconds wide, so the helper's
/// `PausingFileSystem` holds it open on purpose.
@Suite("LockFile reclaim race", .inATestSlot)
struct LockFileReclaimRaceTests {
    /// One round: P1 judges the dead holder's lock stale and is paused just before its rename; P2 tries meanwhile;
    /// P1 renames and is paused again just after; P3 tries meanwhile. Then everyone goes on. Each winner checks an
    /// "in use" marker on entry and exit.
    ///
    /// - Returns: the helpers' outputs when one of them saw another holder, `nil` when none did.
    func round(_ index: Int) async throws -> String? {
        // DURABLE_LOCK_RACE_HELPER: a durable-test-helper built from other code (say, the previous LockFile), to show
        // the race there.
        let helper = ProcessInfo.processInfo.environment["DURABLE_LOCK_RACE_HELPER"].map { URL(fileURLWithPath: $0) } ?? ChildProcess.testHelper
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let dead = #"{"acquiredAt":"2026-11-23T05:12:09Z","command":"x","host":"\#(hostName())","nonce":"dead-\#(index)","pid":99999999,"token":1}"#
        writeRaw(dead + "\n", to: path)
        func start(pausing: Bool) throws -> ChildProcess {
            var arguments = ["reclaim", "--path", path.string, "--marker", dir.file("in-use").string, "--leave-when", dir.file("leave").string, "--timeout", "600"]
            if pausing { arguments += ["--pause-dir", dir.path.string] }
            return try ChildProcess(helper, arguments)
        }
        let p1 = try start(pausing: true)
        #expect(await p1.waitFor("paused-before-rename", timeout: 30), "\(p1.text)")
        let p2 = try start(pausing: false)
        #expect(await firstOf(["entered", "busy"], in: p2), "\(p2.text)")
        writeRaw("", to: dir.file("go-before"))
        #expect(await p1.waitFor("paused-after-rename", timeout: 30), "\(p1.text)")
        let p3 = try start(pausing: false)
        #expect(await firstOf(["entered", "busy"], in: p3), "\(p3.text)")
        writeRaw("", to: dir.file("go-after"))
        writeRaw("", to: dir.file("leave"))
        var statuses: [Int32] = []
        for child in [p1, p2, p3] { statuses.append(await child.wait()) }
        if statuses.contains(3) {
            return zip(["P1", "P2", "P3"], [p1, p2, p3]).map { "\($0): \($1.text)" }.joined(separator: "\n")
        }
        #expect(statuses == [0, 0, 0], "every process gets the lock in turn: \(statuses)\n\(p1.text)\n\(p2.text)\n\(p3.text)")
        return nil
    }

    func firstOf(_ needles: [String], in child: ChildProcess) async -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if needles.contains(where: child.text.contains) { return true }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return needles.contains(where: child.text.contains)
    }

    @Test func threeProcessesReclaimingADeadHoldersLockNeverGiveTwoHolders() async throws {
        for index in 0..<100 {
            if let story = try await round(index) {
                Issue.record("round \(index): two processes held the lock at once\n\(story)")
                return
            }
        }
    }
}

import Foundation
import Testing

/// Lets at most a few test cases of the whole suite run at once (six, or `DURABLE_TEST_SLOTS`); the others wait
/// for a slot before they start.
///
/// Swift Testing (6.3) starts every test case at once. Most of ours start built binaries, shells, helper processes
/// and fsync loops, so the 351 tests ran as several hundred processes on 2 cores: a load average of 35 to 80,
/// and tests whose own deadlines are generous (a 40-item run given 120 s, a child given 15 s to answer) failed
/// because they were starved, not because the code was wrong. Measured on this machine, the whole suite:
/// 500–714 s with 3–9 load failures unlimited, 374 s with none at six at once. Every suite carries this trait
/// (``TestSlotCoverageTests`` checks it), so the suite is bounded wherever it is run, with the README's plain
/// `swift test`.
///
/// ```swift
/// @Suite("Locks", .ownThreads, .inATestSlot)
/// struct LockTests { … }
/// ```
struct TestSlot: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    /// Each test case takes a slot; the suite itself takes none (its cases would wait for it forever).
    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await TestSlots.shared.take()
        do {
            try await function()
        } catch {
            await TestSlots.shared.give()
            throw error
        }
        await TestSlots.shared.give()
    }
}

extension Trait where Self == TestSlot {
    /// Each test case waits for one of the suite's few slots before it runs (``TestSlot``).
    static var inATestSlot: Self { TestSlot() }
}

/// The slots: a counting semaphore whose waiters are served first come, first served.
actor TestSlots {
    static let shared = TestSlots(count: ProcessInfo.processInfo.environment["DURABLE_TEST_SLOTS"].flatMap(Int.init) ?? 6)

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = max(1, count) }

    func take() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the slot to the longest waiter, or frees it.
    func give() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

/// Every suite takes its test cases' slots: a suite without the trait would run all its cases at once beside the
/// others, and bring the starvation back.
@Suite("Every suite runs its tests in the few test slots", .inATestSlot)
struct TestSlotCoverageTests {
    @Test("each @Suite attribute in Tests/DurableIOTests names .inATestSlot")
    func everySuiteIsSlotted() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        var unslotted: [String] = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            // Each attribute runs from the Suite attribute to the declaration it is attached to (the needle is split so that
            // this file's own text does not hold it).
            for attribute in text.components(separatedBy: "@" + "Suite(").dropFirst().map({ $0.components(separatedBy: "struct ")[0] })
            where !attribute.contains(".inATestSlot") {
                unslotted.append("\(file): \(attribute.prefix(80))")
            }
        }
        #expect(files.count > 50 && unslotted.isEmpty, "suites without .inATestSlot: \(unslotted)")
    }
}

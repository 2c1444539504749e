import DurableCLI
import Foundation
import Testing

/// Numbers on the command line that the program cannot represent are usage errors (exit 64) naming the flag and
/// what it accepts — never a trap in a conversion (`Int64(1e300)`, `Duration` from `nan`).
@Suite("Out-of-range numbers are usage errors", .inATestSlot)
struct NumericArgumentTests {
    let dir = TemporaryDirectory()

    /// Runs a CLI with `arguments` and expects a usage error naming `flag` and the accepted range.
    func expectUsageError(_ cli: String, _ arguments: [String], flag: String, accepted: String,
                          sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let child = try ChildProcess(ChildProcess.built(cli), arguments)
        let status = await child.wait()
        #expect(status == 64, "\(cli) \(arguments.joined(separator: " ")): exit \(status)\n\(child.text)", sourceLocation: sourceLocation)
        #expect(child.text.contains(flag), "the error names \(flag): \(child.text)", sourceLocation: sourceLocation)
        #expect(child.text.contains(accepted), "the error says what is accepted: \(child.text)", sourceLocation: sourceLocation)
    }

    var extractArguments: [String] {
        ["run", "--inputs", dir.path.string, "--output", dir.file("out.jsonl").string, "--command", "cat {}"]
    }

    var backfillArguments: [String] {
        ["run", "--db", dir.file("app.db").string, "--name", "b", "--table", "t", "--set", "x = 1"]
    }

    var resumeArguments: [String] {
        ["start", "--db", dir.file("runs.sqlite").string, "--source", dir.file("items.csv").string, "--id", "id", "--command", "cat"]
    }

    @Test("durable-extract: --item-timeout 99999999999999999s and other huge, negative or NaN numbers exit 64")
    func extract() async throws {
        let duration = "a duration from 0 to 8760h"
        try await expectUsageError("durable-extract", extractArguments + ["--item-timeout", "99999999999999999s"], flag: "--item-timeout", accepted: duration)
        try await expectUsageError("durable-extract", extractArguments + ["--stall-timeout", "nan"], flag: "--stall-timeout", accepted: duration)
        try await expectUsageError("durable-extract", extractArguments + ["--grace", "1e300"], flag: "--grace", accepted: duration)
        try await expectUsageError("durable-extract", extractArguments + ["--heartbeat=-1s"], flag: "--heartbeat", accepted: duration)
        try await expectUsageError("durable-extract", extractArguments + ["--jobs", "0"], flag: "--jobs", accepted: "from 1 to 4096")
        try await expectUsageError("durable-extract", extractArguments + ["--jobs", "99999999999999999999"], flag: "--jobs", accepted: "from 1 to 4096")
        try await expectUsageError("durable-extract", extractArguments + ["--memory-limit", "1e300G"], flag: "--memory-limit", accepted: "a byte count")
        try await expectUsageError("durable-extract", extractArguments + ["--max-failures", "101%"], flag: "--max-failures", accepted: "percentage")
    }

    @Test("durable-backfill: --yield 99999999999999999s and other out-of-range numbers exit 64")
    func backfill() async throws {
        let duration = "a duration from 0 to 8760h"
        try await expectUsageError("durable-backfill", backfillArguments + ["--yield", "99999999999999999s"], flag: "--yield", accepted: duration)
        try await expectUsageError("durable-backfill", backfillArguments + ["--target-batch-time", "inf"], flag: "--target-batch-time", accepted: duration)
        try await expectUsageError("durable-backfill", backfillArguments + ["--busy-timeout", "1e300ms"], flag: "--busy-timeout", accepted: duration)
        try await expectUsageError("durable-backfill", backfillArguments + ["--nice-ratio", "nan"], flag: "--nice-ratio", accepted: "from 0 to 1000")
        try await expectUsageError("durable-backfill", backfillArguments + ["--batch-size=-5"], flag: "--batch-size", accepted: "from 1 to 1000000")
        try await expectUsageError("durable-backfill", backfillArguments + ["--wal-checkpoint-mib", "9223372036854775807"], flag: "--wal-checkpoint-mib", accepted: "from 1 to 1048576")
    }

    @Test("durable-resume: --item-timeout 1e300, nan, --grace 1e300 and other out-of-range numbers exit 64")
    func resume() async throws {
        let seconds = "a duration from 0 to 8760h (365 days)"
        try await expectUsageError("durable-resume", resumeArguments + ["--item-timeout", "1e300"], flag: "--item-timeout", accepted: seconds)
        try await expectUsageError("durable-resume", resumeArguments + ["--item-timeout", "nan"], flag: "--item-timeout", accepted: seconds)
        try await expectUsageError("durable-resume", resumeArguments + ["--grace", "1e300"], flag: "--grace", accepted: seconds)
        try await expectUsageError("durable-resume", resumeArguments + ["--batch-seconds=-1"], flag: "--batch-seconds", accepted: seconds)
        try await expectUsageError("durable-resume", resumeArguments + ["--progress-interval", "inf"], flag: "--progress-interval", accepted: seconds)
        try await expectUsageError("durable-resume", resumeArguments + ["--lease", "1e300"], flag: "--lease", accepted: "a duration from 300ms to 24h")
        try await expectUsageError("durable-resume", resumeArguments + ["--jobs", "100000"], flag: "--jobs", accepted: "from 1 to 4096")
        try await expectUsageError("durable-resume", resumeArguments + ["--batch-size", "0"], flag: "--batch-size", accepted: "from 1 to 1000000")
        try await expectUsageError("durable-resume", resumeArguments + ["--claim-size", "99999999999999999999"], flag: "--claim-size", accepted: "from 1 to 1000000")
    }

    @Test("The parsers accept the whole documented range, bounds included")
    func accepted() throws {
        #expect(try DurationArgument.parse("8760h").duration == .seconds(365 * 24 * 3600))
        #expect(try DurationArgument.parse("50ms").duration == .milliseconds(50))
        #expect(try DurationArgument.parse("0").duration == .zero)
        #expect(throws: ArgumentRangeError.self) { try DurationArgument.parse("8761h") }
        #expect(try NumericArgument.seconds()("0.5") == 0.5)
        #expect(try NumericArgument.count(in: 1...4096)("4096") == 4096)
        #expect(throws: ArgumentRangeError.self) { try NumericArgument.count(in: 1...4096)("4097") }
        #expect(try ByteCountArgument.parse("4G").bytes == 4 << 30)
    }
}

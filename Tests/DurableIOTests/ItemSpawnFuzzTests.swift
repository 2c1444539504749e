import DurableRun
import Foundation
import Testing

/// The fast path that starts item commands (`posix_spawn`, ``ItemSpawner/posixSpawn``) against the library it
/// stands in for (swift-subprocess): the same commands, the same input, and everything a caller sees compared —
/// output bytes, exit status or signal, the tail of standard error, timeouts, output limits, cancellation — plus
/// what the command sees of its own process: its group, its signal mask and dispositions, its open descriptors,
/// its environment.
@Suite("Item commands: the posix_spawn fast path against swift-subprocess", .inATestSlot)
struct ItemSpawnFuzzTests {
    /// What a caller of `ItemCommand.run` sees.
    enum Seen: Equatable, CustomStringConvertible {
        case output([UInt8])
        case failure(ItemCommandFailure.Reason, status: String, standardError: String)
        case cancelled
        case other(String)

        var description: String {
            switch self {
            case .output(let bytes): "output \(String(decoding: bytes.prefix(200), as: UTF8.self)) (\(bytes.count) bytes)"
            case .failure(let reason, let status, let standardError): "failure \(reason) \(status) [\(standardError)]"
            case .cancelled: "cancelled"
            case .other(let text): "other \(text)"
            }
        }
    }

    static func seen(
        _ command: ItemCommand, argument: [UInt8] = [], input: [UInt8]? = nil, spawner: ItemSpawner
    ) async -> Seen {
        do {
            return .output(try await command.run(argumentBytes: argument, standardInput: input, spawner: spawner))
        } catch let failure as ItemCommandFailure {
            return .failure(failure.reason, status: failure.status, standardError: failure.standardErrorTail)
        } catch is CancellationError {
            return .cancelled
        } catch {
            return .other("\(error)")
        }
    }

    /// Runs `command` through both paths and expects the same.
    static func expectSame(
        _ command: ItemCommand, argument: [UInt8] = [], input: [UInt8]? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let fast = await seen(command, argument: argument, input: input, spawner: .posixSpawn)
        let library = await seen(command, argument: argument, input: input, spawner: .subprocess)
        #expect(fast == library, "\(command.template): posix_spawn saw \(fast), swift-subprocess \(library)", sourceLocation: sourceLocation)
    }

    @Test("outputs, exit statuses, signals, standard error, input and its refusal, large outputs, the output limit")
    func ordinaryCommands() async {
        await Self.expectSame(ItemCommand(#"printf '{"n":1}'"#))
        await Self.expectSame(ItemCommand("exit 0"))
        await Self.expectSame(ItemCommand("echo $0; echo \"$@\""))
        await Self.expectSame(ItemCommand("echo oops >&2; echo partial; exit 3"))
        await Self.expectSame(ItemCommand("kill -TERM $$"))
        await Self.expectSame(ItemCommand("kill -KILL $$"))
        await Self.expectSame(ItemCommand("cat"), input: Array(repeating: UInt8(ascii: "x"), count: 300_000))
        // Ignores its input and exits at once, with a megabyte offered: EPIPE is the command's choice, not a failure.
        await Self.expectSame(ItemCommand("exec 0<&-; echo closed"), input: Array(repeating: 7, count: 1 << 20))
        await Self.expectSame(ItemCommand("true"), input: Array(repeating: 7, count: 1 << 20))
        await Self.expectSame(ItemCommand("head -c 200000 /dev/zero | tr '\\0' a; head -c 100000 /dev/zero | tr '\\0' b >&2"))
        await Self.expectSame(ItemCommand("head -c 5000 /dev/zero", maxOutputBytes: 1_000))
        await Self.expectSame(ItemCommand("printf %s {}"), argument: [0xFF, 0x41, 0x27, 0x20, 0x2D, 0x2D, 0xC3])
        await Self.expectSame(ItemCommand("no-such-command-\(UUID().uuidString)"))
        // Something the command started keeps the pipes open after it exits.
        await Self.expectSame(ItemCommand("(sleep 2 &) ; echo done"))
    }

    @Test("what the command sees of itself: a group of its own, no blocked signal, the same ignored ones, descriptors 0-2 alone, the environment")
    func theCommandsOwnProcess() async {
        await Self.expectSame(ItemCommand(#"[ "$(cut -d' ' -f5 /proc/$$/stat)" = "$$" ] && echo leader"#))
        // The shell's own mask, read by the program it execs (no fork: dash blocks every signal while it forks, so a
        // child reading /proc/$PPID/status can catch the shell in the middle of one).
        await Self.expectSame(ItemCommand("exec grep -E '^Sig(Blk|Ign)' /proc/self/status"))
        let blocked = await Self.seen(ItemCommand("exec grep '^SigBlk' /proc/self/status"), spawner: .posixSpawn)
        #expect(blocked == .output(Array("SigBlk:\t0000000000000000\n".utf8)), "\(blocked)")
        await Self.expectSame(ItemCommand("ls /proc/$$/fd"))
        var command = ItemCommand(#"printf '%s|%s' "$DURABLE_SPAWN_TEST" "${SWIFT_BACKTRACE-unset}""#)
        command.environment = ["DURABLE_SPAWN_TEST": "a value with spaces and é"]
        await Self.expectSame(command)
        await Self.expectSame(ItemCommand("env | sort"))
    }

    @Test("a timeout kills the group on both paths; a cancelled task tears the command down on both")
    func timeoutsAndCancellation() async throws {
        await Self.expectSame(ItemCommand("sleep 30", timeout: .milliseconds(200), grace: .milliseconds(200)))
        // Ignores SIGTERM: the grace ends in SIGKILL.
        await Self.expectSame(ItemCommand("trap '' TERM; sleep 30", timeout: .milliseconds(200), grace: .milliseconds(300)))
        for spawner in [ItemSpawner.posixSpawn, .subprocess] {
            let started = ContinuousClock.now
            let task = Task { await Self.seen(ItemCommand("sleep 30", grace: .milliseconds(300)), spawner: spawner) }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            #expect(await task.value == .cancelled, "\(spawner)")
            #expect(ContinuousClock.now - started < .seconds(10), "\(spawner)")
        }
    }

    @Test("random shell programs: output on both streams, exit codes, signals, input read or not")
    func randomPrograms() async {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<40 {
            var parts: [String] = []
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let count = [0, 1, 100, 4_096, 70_000].randomElement(using: &generator)!
                let stream = Bool.random(using: &generator) ? "" : " >&2"
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: parts.append("head -c \(count) /dev/zero | tr '\\0' q\(stream)")
                case 1: parts.append("printf '%s\\n' line-\(count)\(stream)")
                case 2: parts.append("head -c \(count) >/dev/null")  // reads some of its input
                default: parts.append(":")
                }
            }
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: parts.append("exit \(Int.random(in: 0...255, using: &generator))")
            case 1: parts.append("kill -\(["TERM", "INT", "HUP", "USR1", "PIPE"].randomElement(using: &generator)!) $$")
            default: break
            }
            let input: [UInt8]? = Bool.random(using: &generator) ? nil : Array(repeating: 1, count: [0, 10, 200_000].randomElement(using: &generator)!)
            await Self.expectSame(ItemCommand(parts.joined(separator: "; "), maxOutputBytes: 100_000), input: input)
        }
    }
}

import DurableIO
import Foundation
import Synchronization
import SystemPackage

/// How an item command's process is started and waited for.
///
/// ```swift
/// let row = try await command.run(argumentBytes: bytes, standardInput: nil, spawner: .subprocess)
/// ```
package enum ItemSpawner: Sendable, Equatable {
    /// `posix_spawn` directly, the pipes pumped and the process reaped on one reused thread: durable-extract's
    /// per-item path. It declines (and the library runs the command) when glibc lacks
    /// `posix_spawn_file_actions_addclosefrom_np` (2.34 and later have it), or, defensively, when a pipe end is a
    /// standard descriptor (``ItemPipes`` moves such ends above 2).
    case posixSpawn
    /// swift-subprocess: the library, and the fallback of ``posixSpawn``.
    case subprocess

    /// ``posixSpawn``, unless `DURABLEIO_ITEM_SPAWN=subprocess` asks for the library.
    package static let preferred: ItemSpawner =
        ProcessInfo.processInfo.environment["DURABLEIO_ITEM_SPAWN"] == "subprocess" ? .subprocess : .posixSpawn
}

/// How an item command's process ended.
enum ItemTermination: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)

    /// From a `waitpid` status (never a stopped process: no `WUNTRACED`).
    init(waitStatus status: Int32) {
        self = status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
    }
}

/// The fast path of ``ItemCommand``: the measured hot path of durable-extract (`Scripts/benchmark-overhead.sh`,
/// issue 18's target 1). swift-subprocess spends, per command, a validation of every environment row, a hop to its
/// spawning thread, a `pidfd` and a wake of its monitoring thread; over 2,000 trivial items that was a large share of
/// the runner's CPU beside `xargs -P`. This path is `posix_spawn` with the same settings — the pipes on 0, 1 and 2,
/// every other descriptor closed, a process group of its own, signal mask emptied and every signal's disposition
/// reset — and the pump thread reaps the child once its pipes are drained. `ItemSpawnFuzzTests` runs the same
/// commands through both paths and compares everything the caller sees.
enum ItemProcess {
    /// Starts `/bin/sh` with `arguments` and `environment` on the pipes' child ends (closed here once started);
    /// `nil` when this path declines (see ``ItemSpawner/posixSpawn``), having touched nothing.
    static func spawn(arguments: CStringRows, environment: CStringRows, pipes: ItemPipes) -> Result<pid_t, Errno>? {
        let ends = [pipes.childInput.rawValue, pipes.childOutput.rawValue, pipes.childError.rawValue]
        guard ends.allSatisfy({ $0 > 2 }), let closeFrom = addCloseFrom else { return nil }
        defer { pipes.closeChildEnds() }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { return .failure(.noMemory) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawnattr_init(&attributes) == 0 else { return .failure(.noMemory) }
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        var failure = posix_spawn_file_actions_adddup2(&actions, ends[0], 0)
        if failure == 0 { failure = posix_spawn_file_actions_adddup2(&actions, ends[1], 1) }
        if failure == 0 { failure = posix_spawn_file_actions_adddup2(&actions, ends[2], 2) }
        if failure == 0 { failure = closeFrom(&actions, 3) }
        if failure == 0 { failure = posix_spawnattr_setsigmask(&attributes, &none) }
        if failure == 0 { failure = posix_spawnattr_setsigdefault(&attributes, &all) }
        if failure == 0 { failure = posix_spawnattr_setpgroup(&attributes, 0) }
        if failure == 0 {
            failure = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        }
        guard failure == 0 else { return .failure(Errno(rawValue: failure)) }
        var pid: pid_t = 0
        failure = arguments.pointers.withUnsafeBufferPointer { argv in
            environment.pointers.withUnsafeBufferPointer { envp in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv.baseAddress!, envp.baseAddress!)
            }
        }
        return failure == 0 ? .success(pid) : .failure(Errno(rawValue: failure))
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np`, looked up by name (Swift's Glibc module may not
    /// declare it).
    private static let addCloseFrom: AddCloseFrom? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }
}

/// NUL-terminated rows (`NAME=value\0`, an argument and its NUL) as the `char *const []` `posix_spawn` takes:
/// copied once, freed with the value.
final class CStringRows: @unchecked Sendable {
    /// One pointer per row, then `nil`. Never written after `init`.
    let pointers: [UnsafeMutablePointer<CChar>?]

    /// Rows that each end with a NUL.
    init(_ rows: [[UInt8]]) {
        pointers =
            rows.map { row in
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: row.count)
                row.withUnsafeBytes { copy.initialize(from: $0.bindMemory(to: CChar.self).baseAddress!, count: row.count) }
                return copy
            } + [nil]
    }

    deinit { for pointer in pointers { pointer?.deallocate() } }
}

/// The teardown of a cancelled command's group: SIGTERM now, SIGKILL after the grace — unless the command has
/// ended (been reaped) first; once it has, its group is never signalled again.
final class GroupTeardown: Sendable {
    private let group: pid_t
    private let grace: Duration
    private let state = Mutex<(ended: Bool, timer: KillTimer?)>((false, nil))

    init(group: pid_t, grace: Duration) {
        self.group = group
        self.grace = grace
    }

    /// The task was cancelled: begin the teardown (once).
    func start() {
        state.withLock { state in
            guard !state.ended, state.timer == nil else { return }
            state.timer = KillTimer(group: group, after: .zero, grace: grace, fired: TimeoutFlag())
        }
    }

    /// The command was reaped.
    func end() {
        state.withLock { state in
            state.ended = true
            state.timer?.cancel()
        }
    }
}

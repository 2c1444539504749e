import DurableIO
import Foundation
import Synchronization
import SystemPackage

/// What one item command printed: its standard output (up to the limit) and the tail of its standard error.
struct ItemOutput: Sendable {
    var output: [UInt8] = []
    var overflow = false
    var errorTail: [UInt8] = []
}

/// The three pipes of one item command, made before it starts so that a pipe that cannot be made (`EMFILE`) is the
/// item's failure rather than a trap inside swift-subprocess (1.0.2 traps when its second pipe cannot be made: the
/// first one's descriptors are dropped unclosed). The child's ends go to `posix_spawn` (or swift-subprocess), closed
/// once the child is spawned; the parent's ends are pumped on a thread of their own (kept for later items), which
/// writes the input, drains both outputs while the command runs, and treats `EPIPE` on the input as the command's
/// choice not to read it.
///
/// Not `Sendable` in spirit: one command's pipes, used by one pump; the class is `@unchecked Sendable` only to cross
/// into that thread.
final class ItemPipes: @unchecked Sendable {
    let childInput: FileDescriptor
    let childOutput: FileDescriptor
    let childError: FileDescriptor
    private let parentEnds: Mutex<[Int32]>
    private let input: Int32
    private let output: Int32
    private let error: Int32

    /// Makes the three pipes (close-on-exec), or throws the errno of the one that failed, having closed the others.
    init() throws(Errno) {
        var made: [Int32] = []
        func pipe() throws(Errno) -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard Self.pipeClosingOnExec(&fds) == 0 else {
                let failure = Errno(rawValue: errno)
                for fd in made { _ = close(fd) }
                throw failure
            }
            made += fds
            return (fds[0], fds[1])
        }
        var stdin = try pipe()
        var stdout = try pipe()
        var stderr = try pipe()
        // A process started with a standard descriptor closed gets it back from pipe2: move such an end above 2,
        // where the child's 0, 1 and 2 cannot overwrite it while they are set up.
        var low: [Int32] = []
        func raised(_ fd: Int32) throws(Errno) -> Int32 {
            guard fd < 3 else { return fd }
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            guard copy >= 0 else {
                let failure = Errno(rawValue: errno)
                for fd in made { _ = close(fd) }
                throw failure
            }
            made.append(copy)
            low.append(fd)
            return copy
        }
        stdin = (try raised(stdin.read), try raised(stdin.write))
        stdout = (try raised(stdout.read), try raised(stdout.write))
        stderr = (try raised(stderr.read), try raised(stderr.write))
        for fd in low { _ = close(fd) }
        childInput = FileDescriptor(rawValue: stdin.read)
        childOutput = FileDescriptor(rawValue: stdout.write)
        childError = FileDescriptor(rawValue: stderr.write)
        input = stdin.write
        output = stdout.read
        error = stderr.read
        parentEnds = Mutex([stdin.write, stdout.read, stderr.read])
    }

    /// `pipe2(fds, O_CLOEXEC)`: both ends close-on-exec atomically, so a command started by another thread at the
    /// same moment never inherits them (it would hold this command's output open). Glibc declares `pipe2` only
    /// under `_GNU_SOURCE`, which Swift's Glibc module does not set: it is looked up once by name.
    private static func pipeClosingOnExec(_ fds: UnsafeMutablePointer<Int32>) -> Int32 {
        guard let pipe2 = Self.pipe2 else {
            errno = ENOSYS
            return -1
        }
        return pipe2(fds, O_CLOEXEC)
    }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private static let pipe2: Pipe2? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }

    /// Closes the parent's ends that are still open (once each).
    func closeParentEnds() {
        parentEnds.withLock { open in
            for fd in open { _ = close(fd) }
            open = []
        }
    }

    private func release(_ fd: Int32) {
        parentEnds.withLock { open in
            guard let index = open.firstIndex(of: fd) else { return }
            _ = close(fd)
            open.remove(at: index)
        }
    }

    /// Writes `input` to the command and drains its outputs until both reach end of file (or, when the command has
    /// exited and something it started keeps the pipes open, shortly after its exit). Off the cooperative pool.
    func exchange(input bytes: [UInt8], outputLimit: Int, child: pid_t) async -> ItemOutput {
        await Self.pumps.run { self.pump(bytes, outputLimit: outputLimit, child: child) }
    }

    /// ``exchange(input:outputLimit:child:)``, then reaps `child` (blocking until it exits) on the same thread:
    /// the `waitpid` status. For a child this process started itself (``ItemProcess``), not swift-subprocess.
    func exchangeAndReap(input bytes: [UInt8], outputLimit: Int, child: pid_t) async -> (ItemOutput, Int32) {
        await Self.pumps.run {
            let output = self.pump(bytes, outputLimit: outputLimit, child: child)
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            return (output, status)
        }
    }

    /// Closes the child's ends, once the child holds its own copies (after a spawn of our own).
    func closeChildEnds() {
        for end in [childInput, childOutput, childError] { try? end.close() }
    }

    /// The threads that pump item commands' pipes, kept between items.
    private static let pumps = ReusableThreads(name: "item pipes")

    private func pump(_ bytes: [UInt8], outputLimit: Int, child: pid_t) -> ItemOutput {
        defer { closeParentEnds() }
        // A write to a command that closed its input raises SIGPIPE at this thread: blocked here, the write fails
        // with EPIPE instead, whether or not the process ignores SIGPIPE.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        for fd in [input, output, error] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }

        var result = ItemOutput()
        var written = 0
        var inputOpen = true
        if bytes.isEmpty {
            release(input)
            inputOpen = false
        }
        var outputOpen = true
        var errorOpen = true
        var exitedAt: ContinuousClock.Instant?
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while outputOpen || errorOpen || inputOpen {
            var fds: [pollfd] = []
            if inputOpen { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            if outputOpen { fds.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
            if errorOpen { fds.append(pollfd(fd: error, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), 50)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0 {
                // Quiet pipes: has the command exited while something it started holds them open?
                if let exitedAt {
                    if ContinuousClock.now - exitedAt > .milliseconds(200) { break }
                } else if Self.hasExited(child) {
                    exitedAt = .now
                }
                continue
            }
            for entry in fds where entry.revents != 0 {
                switch entry.fd {
                case input:
                    let count = bytes.withUnsafeBytes { raw in
                        write(input, raw.baseAddress! + written, raw.count - written)
                    }
                    if count > 0 {
                        written += count
                        if written == bytes.count {
                            release(input)
                            inputOpen = false
                        }
                    } else if count < 0 && errno != EAGAIN && errno != EINTR {
                        // EPIPE: the command exited or closed its input without reading it all. Its outcome is
                        // its exit status and output, not this.
                        release(input)
                        inputOpen = false
                    }
                case output:
                    let count = read(output, &buffer, buffer.count)
                    if count > 0 {
                        if result.output.count + count > outputLimit { result.overflow = true } else { result.output += buffer[0..<count] }
                    } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                        outputOpen = false
                    }
                default:
                    let count = read(error, &buffer, buffer.count)
                    if count > 0 {
                        result.errorTail += buffer[0..<count]
                        if result.errorTail.count > 4096 { result.errorTail.removeFirst(result.errorTail.count - 2048) }
                    } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                        errorOpen = false
                    }
                }
            }
        }
        result.errorTail = Array(result.errorTail.suffix(2048))
        return result
    }

    /// Whether `child` has exited, without reaping it (swift-subprocess reaps it).
    private static func hasExited(_ child: pid_t) -> Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return errno != EINTR }
        return info.si_signo != 0  // still zero while the child runs (WNOHANG)
    }
}

extension Errno {
    /// `EMFILE (Too many open files)`: the symbolic name operators search for, and the text.
    var failureText: String {
        let names: [Int32: String] = [Glibc.EMFILE: "EMFILE", Glibc.ENFILE: "ENFILE", Glibc.EAGAIN: "EAGAIN", Glibc.ENOMEM: "ENOMEM"]
        return names[rawValue].map { "\($0) (\(description))" } ?? "\(description), errno \(rawValue)"
    }
}

import DurableIO
import Foundation

/// Turns SIGINT, SIGTERM and SIGHUP into a graceful `StopRequest`, the way every DurableIO command behaves:
///
/// - `SIGPIPE` is ignored (a child that exits early, or a closed pipe on stdout, must not kill the runner; write
///   errors are handled where they happen).
/// - The first SIGINT, SIGTERM or SIGHUP requests a stop: no new work starts, work in flight may finish.
/// - After ``grace`` (or at once on a second SIGINT) the stop is forced: work in flight is cancelled and item
///   commands are killed as a process group.
/// - The command then exits 130, 143 or 129 (``DurableExitCode/init(stoppedBy:)``).
///
/// Signals are received by a dispatch source on a queue of its own, never by an async-signal handler, so the
/// reaction may take locks and allocate.
///
/// ```swift
/// let stop = StopRequest()
/// let signals = SignalHandler.install(stop: stop, grace: .seconds(30))
/// let report = try await run.run(inputs: keys, stop: stop, extract: extract)
/// ```
public final class SignalHandler: @unchecked Sendable {  // `sources` is written once in init, then only cancelled under `lock`
    /// The request the signals make.
    public let stop: StopRequest
    /// How long work in flight may take to finish after the first signal.
    public let grace: Duration
    private var sources: [any DispatchSourceSignal] = []
    private let lock = NSLock()
    private let say: @Sendable (String) -> Void

    private init(stop: StopRequest, grace: Duration, say: @escaping @Sendable (String) -> Void) {
        self.stop = stop
        self.grace = grace
        self.say = say
        let queue = DispatchQueue(label: "DurableIO signals")
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)  // the dispatch source receives it; the default action must not end the process
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [stop, grace, say] in Self.received(number, stop: stop, grace: grace, say: say) }
            source.resume()
            sources.append(source)
        }
    }

    /// Ignores SIGPIPE and routes SIGINT, SIGTERM and SIGHUP to `stop`.
    ///
    /// - Parameters:
    ///   - stop: the request to make.
    ///   - grace: how long in-flight work may take after the first signal before it is cancelled.
    ///   - say: where the one-line notices go (standard error by default).
    /// - Returns: the handler; keep it alive for as long as signals should be handled.
    @discardableResult
    public static func install(
        stop: StopRequest, grace: Duration = .seconds(30),
        say: @escaping @Sendable (String) -> Void = { ProgressRenderer.standardError($0 + "\n") }
    ) -> SignalHandler {
        signal(SIGPIPE, SIG_IGN)
        return SignalHandler(stop: stop, grace: grace, say: say)
    }

    private static func received(
        _ number: Int32, stop: StopRequest, grace: Duration, say: @Sendable (String) -> Void
    ) {
        let name = StopRequest.signalName(number)
        if stop.isRequested {
            guard number == SIGINT, !stop.isForced else { return }
            say("\(name) again: stopping now; items in flight are killed and will be retried by the next run")
            stop.force(.signal(number))
            return
        }
        stop.request(.signal(number))
        say("\(name): stopping — no new items start; items in flight have \(ProgressSnapshot.duration(grace.seconds)) to finish (Ctrl-C again to stop now)")
        let seconds = grace.seconds
        let thread = Thread {
            Thread.sleep(forTimeInterval: seconds)
            stop.force(.signal(number))
        }
        thread.name = "DurableIO stop grace"
        thread.start()
    }

    /// Stops handling: the default actions apply again.
    public func uninstall() {
        lock.withLock {
            for source in sources { source.cancel() }
            sources = []
        }
        for number in [SIGINT, SIGTERM, SIGHUP] { signal(number, SIG_DFL) }
    }
}

extension DurableExitCode {
    /// The exit code for a stop: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP; 1 for a stop the program asked for.
    public init(stoppedBy reason: StopRequest.Reason) {
        switch reason {
        case .signal(SIGINT): self = .interrupted
        case .signal(SIGTERM): self = .terminated
        case .signal(SIGHUP): self = .hangup
        default: self = .failure
        }
    }
}

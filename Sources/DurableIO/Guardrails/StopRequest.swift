import Synchronization

/// A request to stop a run gracefully: stop starting new work, let work in flight finish, leave everything
/// acknowledged durable. If it is *forced* (a grace period ran out, or a second Ctrl-C), work in flight is
/// cancelled too.
///
/// The signal handler of a command line tool (DurableCLI's `SignalHandler`) requests the stop; the
/// run polls ``isRequested`` between items or batches and registers ``onForce(_:)`` to cancel what is in flight.
///
/// ```swift
/// let stop = StopRequest()
/// stop.onForce { task.cancel() }
/// for batch in batches {
///     if stop.isRequested { break }          // finish the current batch, start no other
///     try await process(batch)
/// }
/// ```
public final class StopRequest: Sendable {
    /// Why a stop was requested.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// A signal arrived (SIGINT, SIGTERM, SIGHUP).
        case signal(Int32)
        /// The program asked for it.
        case requested(String)

        public var description: String {
            switch self {
            case .signal(let number): return StopRequest.signalName(number)
            case .requested(let why): return why
            }
        }
    }

    private struct State {
        var reason: Reason?
        var forced = false
        var forceHandlers: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    /// A request not yet made.
    public init() {}

    /// Whether a stop was requested (forced or not).
    public var isRequested: Bool { state.withLock { $0.reason != nil } }

    /// Whether work in flight must be cancelled now.
    public var isForced: Bool { state.withLock { $0.forced } }

    /// The first reason given, if a stop was requested.
    public var reason: Reason? { state.withLock { $0.reason } }

    /// Requests a graceful stop. The first reason is kept; later requests change nothing.
    public func request(_ reason: Reason) {
        state.withLock { if $0.reason == nil { $0.reason = reason } }
    }

    /// Forces the stop: requests it if not yet requested, then runs every ``onForce(_:)`` handler once.
    public func force(_ reason: Reason) {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            if state.reason == nil { state.reason = reason }
            guard !state.forced else { return [] }
            state.forced = true
            defer { state.forceHandlers = [] }
            return state.forceHandlers
        }
        for handler in handlers { handler() }
    }

    /// Registers `handler` to run when the stop is forced (at once if it already was). Handlers run on the
    /// thread that forces the stop: keep them short (cancel a task, signal a process group).
    public func onForce(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.forced { return true }
            state.forceHandlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    /// `SIGINT`, `SIGTERM`, `SIGHUP`, or `signal 10`.
    package static func signalName(_ number: Int32) -> String {
        switch number {
        case 1: return "SIGHUP"
        case 2: return "SIGINT"
        case 15: return "SIGTERM"
        default: return "signal \(number)"
        }
    }
}

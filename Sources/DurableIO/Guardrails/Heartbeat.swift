import Foundation
import Logging
import Synchronization
import SystemPackage

/// A progress line every interval (default 60 s) through swift-log, the same snapshot to every subscriber, and
/// the time of the beat in a small file a `status` command can read — so its absence means something too.
///
/// It runs on a thread of its own, not on the cooperative pool, so blocked I/O elsewhere cannot silence it.
///
/// ```swift
/// let heartbeat = Heartbeat(tracker: tracker, interval: .seconds(60), record: "out.jsonl.heartbeat")
/// heartbeat.start()
/// defer { heartbeat.stop() }
/// for await snapshot in heartbeat.snapshots() { render(snapshot) }
/// ```
public final class Heartbeat: Sendable {
    /// The tracker it reports.
    public let tracker: ProgressTracker
    /// Time between beats.
    public let interval: Duration
    /// Where each beat is recorded (atomically), if anywhere.
    public let record: FilePath?
    private let logger: Logger
    private let fileSystem: any FileSystem
    private let spaceEstimate: (@Sendable () -> SpaceEstimate?)?
    private let subscribers = Mutex<[UUID: AsyncStream<ProgressSnapshot>.Continuation]>([:])
    private let stopSignal = DispatchSemaphore(value: 0)
    private let started = Mutex(false)
    /// Held for a whole beat, snapshot to record: the beating thread's beat and the run's last one never
    /// interleave, so the record a later beat leaves is never replaced by an earlier snapshot (a run that ended at
    /// 6 of 6 was seen recorded at 4 of 6, the thread's rename landing after the last beat's).
    private let beating = Mutex(())

    /// A heartbeat for `tracker`; `spaceEstimate`, when given, is asked at each beat how much more disk the run
    /// needs, and its answer is logged and recorded with the beat.
    public init(
        tracker: ProgressTracker, interval: Duration = .seconds(60), record: FilePath? = nil,
        logger: Logger = Logger(label: "DurableIO.Heartbeat"), fileSystem: any FileSystem = RealFileSystem(),
        spaceEstimate: (@Sendable () -> SpaceEstimate?)? = nil
    ) {
        self.spaceEstimate = spaceEstimate
        self.tracker = tracker
        self.interval = interval
        self.record = record
        self.logger = logger
        self.fileSystem = fileSystem
    }

    /// Starts beating on its own thread (once).
    public func start() {
        let first = started.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        let thread = Thread { [self] in
            while stopSignal.wait(timeout: .now() + interval.seconds) == .timedOut { beat() }
        }
        thread.name = "DurableIO heartbeat"
        thread.start()
    }

    /// Stops beating and finishes every subscriber's stream.
    public func stop() {
        stopSignal.signal()
        let all = subscribers.withLock { s -> [AsyncStream<ProgressSnapshot>.Continuation] in
            defer { s.removeAll() }
            return Array(s.values)
        }
        for continuation in all { continuation.finish() }
    }

    /// A stream of every beat from now on; it ends when the heartbeat stops.
    public func snapshots() -> AsyncStream<ProgressSnapshot> {
        let (stream, continuation) = AsyncStream<ProgressSnapshot>.makeStream(bufferingPolicy: .bufferingNewest(8))
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        return stream
    }

    /// Beats now: logs, records, and sends the snapshot to subscribers.
    @discardableResult
    public func beat() -> ProgressSnapshot {
        beating.withLock { _ in beatHoldingTheLock() }
    }

    private func beatHoldingTheLock() -> ProgressSnapshot {
        let snapshot = tracker.snapshot()
        let space = spaceEstimate?()
        logger.debug("progress: \(snapshot)\(space.map { " · disk: \($0)" } ?? "")")
        if let record {
            var entry = HeartbeatRecord(
                beatAt: ISO8601DateFormatter().string(from: Date()), pid: ProcessInfo.processInfo.processIdentifier,
                progress: snapshot)
            entry.spaceNeeded = space
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try AtomicFile.writeJSON(entry, to: record, encoder: encoder, fileSystem: fileSystem)
            } catch {
                logger.warning("could not record the heartbeat: \(error)", metadata: ["path": "\(record)"])
            }
        }
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(snapshot) }
        return snapshot
    }

    /// The last beat recorded at `path`, for `status`.
    public static func lastBeat(at path: FilePath, fileSystem: any FileSystem = RealFileSystem()) -> HeartbeatRecord? {
        guard let bytes = try? fileSystem.contents(of: path) else { return nil }
        return try? JSONDecoder().decode(HeartbeatRecord.self, from: Data(bytes))
    }
}

/// One recorded heartbeat.
///
/// ```swift
/// if let last = Heartbeat.lastBeat(at: "out.jsonl.heartbeat") { print("last heartbeat \(last.beatAt): \(last.progress)") }
/// ```
public struct HeartbeatRecord: Codable, Sendable, Equatable {
    /// When, ISO 8601 UTC.
    public var beatAt: String
    /// Which process.
    public var pid: Int32
    /// The progress then.
    public var progress: ProgressSnapshot
    /// The disk the run still needed then, when its run estimates it (absent in records of earlier releases).
    public var spaceNeeded: SpaceEstimate?

    public init(beatAt: String, pid: Int32, progress: ProgressSnapshot, spaceNeeded: SpaceEstimate? = nil) {
        self.beatAt = beatAt
        self.pid = pid
        self.progress = progress
        self.spaceNeeded = spaceNeeded
    }
}

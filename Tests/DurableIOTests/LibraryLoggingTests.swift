import DurableIO
import DurableRunStore
import DurableSQLite
import Logging
import Synchronization
import Testing

/// A library does not speak to operators on its own (issue 17): with swift-log's default level (`info`), routine
/// events — a heartbeat's progress, a run finalized or stopped as asked — are `debug`, so a program that configures
/// no logging prints nothing; warnings (damage recovered, a memory limit near) stay warnings. The CLIs decide what
/// operators see.
@Suite("The library logs routine events at debug, so a program that configures nothing prints nothing", .inATestSlot)
struct LibraryLoggingTests {
    /// Keeps every message a logger made through it lets pass its level.
    final class Sink: Sendable {
        let lines = Mutex<[String]>([])
        func logger(_ label: String, level: Logger.Level = .info) -> Logger {
            Logger(label: label) { _ in SinkHandler(sink: self, logLevel: level) }
        }
        var captured: [String] { lines.withLock { $0 } }
    }

    struct SinkHandler: LogHandler {
        let sink: Sink
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { sink.lines.withLock { $0.append("\(event.level) \(event.message)") } }
    }

    @Test("a heartbeat's progress is a debug line: nothing at info, one line at debug")
    func heartbeat() {
        let atInfo = Sink(), atDebug = Sink()
        let tracker = ProgressTracker(total: 10)
        tracker.mark(completed: 3)
        _ = Heartbeat(tracker: tracker, interval: .seconds(3600), logger: atInfo.logger("DurableIO.Heartbeat")).beat()
        _ = Heartbeat(tracker: tracker, interval: .seconds(3600), logger: atDebug.logger("DurableIO.Heartbeat", level: .debug)).beat()
        #expect(atInfo.captured.isEmpty, "\(atInfo.captured)")
        #expect(atDebug.captured.count == 1 && atDebug.captured[0].hasPrefix("debug progress: 3 / 10"), "\(atDebug.captured)")
    }

    @Test("a run that completes and one that is stopped log nothing at info")
    func runner() async throws {
        let dir = TemporaryDirectory()
        writeRaw("id\n1\n2\n3\n", to: dir.file("items.csv"))
        let store = try SQLiteRunStore(path: dir.file("runs.sqlite").string)
        let source = try await store.ingest(try SourceFile(path: dir.file("items.csv").string, idColumns: ["id"]), allowNewVersion: false).source
        let sink = Sink()
        let runner = ResumableRunner(store: store)
        let done = try await runner.start(
            source: source, name: "quiet", configuration: .init(command: "x"),
            options: .init(logger: sink.logger("DurableRunStore"))) { item in Array(item.json.utf8) }
        #expect(done.run.status == .completed)
        let stop = StopRequest()
        stop.request(.requested("test"))
        _ = try? await runner.start(
            source: source, name: "stopped", configuration: .init(command: "x"),
            options: .init(stop: stop, logger: sink.logger("DurableRunStore"))) { item in Array(item.json.utf8) }
        try store.close()
        #expect(sink.captured.isEmpty, "\(sink.captured)")
    }
}

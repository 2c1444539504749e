import Logging

/// The swift-log handler of the CLIs: `warning: <message>` (the level, then the message, then its metadata as
/// `key=value`) on standard error through ``ProgressRenderer/standardError``, so a line the libraries log during a
/// run — the stall watchdog's, the memory limit's, a recovery notice — starts on a line of its own instead of being
/// glued to the progress bar redrawn in place (swift-log's own `StreamLogHandler` writes around the renderer).
///
/// ```swift
/// var logger = Logger(label: "durable-extract", factory: StandardErrorLogHandler.init)
/// logger.logLevel = .notice
/// logger.warning("no progress for 300 s")   // warning: no progress for 300 s
/// ```
public struct StandardErrorLogHandler: LogHandler {
    /// The logger's label (not printed: the CLI's name is known to the operator).
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info

    /// A handler for the logger labelled `label`.
    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        ProgressRenderer.standardError(Self.line(level: event.level, message: "\(event.message)", metadata: allMetadata(of: event)))
    }

    /// `warning: the message path=/data/out.jsonl` and a newline.
    static func line(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let details = metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        return "\(level): \(message)\(details)\n"
    }
}

extension LogHandler {
    /// The handler's metadata, then its provider's, then the event's: later ones win (swift-log's order).
    func allMetadata(of event: LogEvent) -> Logger.Metadata {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        return all
    }
}

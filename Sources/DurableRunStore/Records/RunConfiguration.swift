import Foundation

/// A run's configuration, recorded when it starts and authoritative on every resume (options given to `resume`
/// that differ are reported as drift and ignored).
///
/// Stored as canonical JSON: sorted keys, no whitespace, so two equal configurations are equal bytes.
///
/// ```swift
/// let configuration = RunConfiguration(command: "./classify.sh", batchSize: 100, batchSeconds: 5)
/// print(configuration.canonicalJSON)   // {"batch_seconds":5,"batch_size":100,"command":"./classify.sh"}
/// ```
public struct RunConfiguration: Sendable, Equatable, Codable {
    /// The per-item command (`sh -c`): reads the item's JSON on stdin, prints the result's JSON on stdout.
    public var command: String
    /// Results per commit (default 100).
    public var batchSize: Int
    /// Longest time, in seconds, a finished result waits for its commit (default 5).
    public var batchSeconds: Double
    /// Longest time, in seconds, one item's command may run; `nil` for no limit.
    public var itemTimeoutSeconds: Double?

    /// A configuration.
    public init(command: String, batchSize: Int = 100, batchSeconds: Double = 5, itemTimeoutSeconds: Double? = nil) {
        self.command = command
        self.batchSize = batchSize
        self.batchSeconds = batchSeconds
        self.itemTimeoutSeconds = itemTimeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case command
        case batchSize = "batch_size"
        case batchSeconds = "batch_seconds"
        case itemTimeoutSeconds = "item_timeout_seconds"
    }

    /// Sorted keys, no whitespace.
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Parses ``canonicalJSON``.
    public init(canonicalJSON: String) throws {
        self = try JSONDecoder().decode(RunConfiguration.self, from: Data(canonicalJSON.utf8))
    }

    /// Checks the values a run needs.
    ///
    /// - Throws: ``DurableRunStoreError`` (`invalidInput`) naming the bad value.
    public func validate() throws {
        func bad(_ message: String) -> DurableRunStoreError {
            DurableRunStoreError(.invalidInput, operation: "configure run", message: message)
        }
        if command.trimmingCharacters(in: .whitespaces).isEmpty { throw bad("the per-item command is empty") }
        if batchSize < 1 { throw bad("the batch size must be at least 1 (got \(batchSize))") }
        if !(batchSeconds > 0) { throw bad("the batch interval must be above 0 s (got \(batchSeconds))") }
        if let t = itemTimeoutSeconds, !(t > 0) { throw bad("the item timeout must be above 0 s (got \(t))") }
    }

    /// One line per setting given that differs from this (stored) configuration, e.g.
    /// `--batch-size: stored 100, given 50 (ignored)`.
    public func drift(from given: Overrides) -> [String] {
        var lines: [String] = []
        if let command = given.command, command != self.command {
            lines.append("--command: stored '\(self.command)', given '\(command)' (ignored)")
        }
        if let size = given.batchSize, size != batchSize {
            lines.append("--batch-size: stored \(batchSize), given \(size) (ignored)")
        }
        if let seconds = given.batchSeconds, seconds != batchSeconds {
            lines.append("--batch-seconds: stored \(batchSeconds), given \(seconds) (ignored)")
        }
        if let timeout = given.itemTimeoutSeconds, timeout != itemTimeoutSeconds {
            lines.append("--item-timeout: stored \(itemTimeoutSeconds.map { "\($0)" } ?? "none"), given \(timeout) (ignored)")
        }
        return lines
    }

    /// Settings given to a resume, compared with the stored ones to report drift.
    ///
    /// ```swift
    /// let lines = stored.drift(from: .init(command: "./classify-v2.sh"))
    /// ```
    public struct Overrides: Sendable, Equatable {
        /// The command given, if any.
        public var command: String?
        /// The batch size given, if any.
        public var batchSize: Int?
        /// The batch interval given, if any.
        public var batchSeconds: Double?
        /// The item timeout given, if any.
        public var itemTimeoutSeconds: Double?

        /// Settings given (all optional).
        public init(command: String? = nil, batchSize: Int? = nil, batchSeconds: Double? = nil, itemTimeoutSeconds: Double? = nil) {
            self.command = command
            self.batchSize = batchSize
            self.batchSeconds = batchSeconds
            self.itemTimeoutSeconds = itemTimeoutSeconds
        }
    }
}

import ArgumentParser
import DurableIO
import Foundation
import SystemPackage

/// `--metrics-file PATH` and `--metrics-interval`: the same two flags on every command that runs items.
///
/// ```swift
/// @OptionGroup(title: "Metrics") var metrics: MetricsOptions
/// let file = try metrics.file(output: "out.jsonl", defaultInterval: .seconds(60))
/// ```
public struct MetricsOptions: ParsableArguments, Sendable {
    @Option(
        name: .customLong("metrics-file"),
        help: ArgumentHelp(
            "Write the run's metrics to PATH in the Prometheus text format, replaced atomically at each interval and at the end (for node_exporter's textfile collector: name it *.prom). See Documentation/Metrics.md.",
            valueName: "path"))
    public var metricsFile: String?

    @Option(
        help: ArgumentHelp(
            "How often --metrics-file is rewritten, e.g. 15s or 1m (default: the heartbeat, or 15s where there is none).",
            valueName: "duration"),
        transform: DurationArgument.parse)
    public var metricsInterval: DurationArgument?

    public init() {}

    public func validate() throws {
        if let metricsFile, metricsFile.isEmpty { throw ValidationError("--metrics-file needs a path") }
        if let metricsInterval, metricsInterval.duration <= .zero { throw ValidationError("--metrics-interval must be more than 0") }
    }

    /// `path` made absolute against the working directory: an `output` label that names one file wherever the
    /// command was started.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The metrics file the flags ask for (`nil` without `--metrics-file`), labelled with this process's tool and
    /// subcommand (its executable's name and first argument), `output` and `runID`.
    public func file(output: String, runID: String = "", defaultInterval: Duration = .seconds(15)) -> MetricsFile? {
        guard let metricsFile else { return nil }
        let arguments = CommandLine.arguments
        let tool = arguments.first.map { FilePath($0).lastComponent?.string ?? $0 } ?? "durable"
        let subcommand = arguments.dropFirst().first ?? ""
        return MetricsFile(
            path: FilePath(metricsFile),
            identity: .init(tool: tool, subcommand: subcommand, runID: runID, output: output),
            interval: metricsInterval?.duration ?? (defaultInterval > .zero ? defaultInterval : .seconds(15)))
    }
}

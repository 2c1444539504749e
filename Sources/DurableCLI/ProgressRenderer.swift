import DurableIO
import Foundation
import Synchronization

/// Shows progress the way the output can take it: on a terminal, one line updated in place at most ten times a
/// second (count, percent, rate, ETA, failures); anywhere else (CI, a log file, a pipe), plain lines at the
/// heartbeat interval with no control characters; with `--quiet`, nothing. Errors are not its business: they go
/// to stderr whatever the style.
///
/// ```swift
/// let renderer = ProgressRenderer(style: .automatic)
/// renderer.update(tracker.snapshot())
/// renderer.finish("done: 152,265 rows verified")
/// ```
public final class ProgressRenderer: Sendable {
    /// How to show progress.
    public enum Style: Sendable, Equatable {
        /// One line redrawn in place.
        case terminal
        /// Plain lines, one per interval.
        case plain
        /// Nothing.
        case quiet

        /// `.terminal` when standard error is a terminal, else `.plain`.
        public static var automatic: Style { isatty(2) == 1 ? .terminal : .plain }
    }

    /// The style in use.
    public let style: Style
    private let write: @Sendable (String) -> Void
    private let terminalInterval: Double
    private let plainInterval: Double
    private let timekeeper: Timekeeper
    private let last = Mutex<(time: Double, drewLine: Bool)?>(nil)

    /// A renderer writing to standard error (or to `write`).
    public init(
        style: Style = .automatic, plainInterval: Duration = .seconds(60), timekeeper: Timekeeper = .system,
        write: @escaping @Sendable (String) -> Void = ProgressRenderer.standardError
    ) {
        self.style = style
        self.write = write
        self.terminalInterval = 0.1
        self.plainInterval = plainInterval.seconds
        self.timekeeper = timekeeper
    }

    /// Writes straight to file descriptor 2 (unbuffered).
    public static let standardError: @Sendable (String) -> Void = { text in
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
    }

    /// Shows `snapshot` if enough time has passed since the last update.
    public func update(_ snapshot: ProgressSnapshot) {
        guard style != .quiet else { return }
        let now = timekeeper.elapsed().seconds
        let interval = style == .terminal ? terminalInterval : plainInterval
        let due = last.withLock { last -> Bool in
            if let previous = last, now - previous.time < interval { return false }
            last = (now, true)
            return true
        }
        guard due else { return }
        switch style {
        case .terminal: write("\r\u{1B}[2K" + Self.line(snapshot, bar: true))
        case .plain: write(Self.line(snapshot, bar: false) + "\n")
        case .quiet: break
        }
    }

    /// Ends the progress display with a final summary line (nothing with `.quiet`).
    public func finish(_ summary: String) {
        switch style {
        case .terminal:
            let drew = last.withLock { $0?.drewLine ?? false }
            write((drew ? "\r\u{1B}[2K" : "") + summary + "\n")
        case .plain: write(summary + "\n")
        case .quiet: break
        }
    }

    /// Ends the progress display with the command's final one-line summary, which every style prints: in place of
    /// the progress line on a terminal, as a plain line otherwise, and on standard error under `--quiet` too (see
    /// ``QuietOption``).
    public func conclude(_ summary: String) {
        if style == .quiet { write(summary + "\n") } else { finish(summary) }
    }

    /// `[#########...........] 41,200 / 152,265 (27.1 %) · 35.2/s · ETA 52m 34s · 3 failed`.
    public static func line(_ snapshot: ProgressSnapshot, bar: Bool) -> String {
        guard bar, let fraction = snapshot.fraction else { return "\(snapshot)" }
        let width = 20
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(snapshot)"
    }
}


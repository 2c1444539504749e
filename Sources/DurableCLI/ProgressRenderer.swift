import DurableIO
import Foundation
import Synchronization

/// Shows progress the way the output can take it: on a terminal, one line updated in place at most ten times a
/// second (bar, count, percent, rate, elapsed time, ETA, failures), fitted to the terminal's width at each redraw;
/// anywhere else (CI, a log file, a pipe), plain lines at the heartbeat interval, each starting with an ISO 8601
/// UTC timestamp and free of control characters; with `--quiet`, nothing. Errors are not its business: they go
/// to stderr whatever the style.
///
/// Everything else written to the terminal goes through ``standardError``, which first ends the line being
/// redrawn, so a notice (a signal's, an error's) starts on a line of its own.
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
    private let ownsStandardError: Bool
    private let terminalInterval: Double
    private let plainInterval: Double
    private let timekeeper: Timekeeper
    private let columns: @Sendable () -> Int
    private let now: @Sendable () -> Date
    private let last = Mutex<(time: Double, drewLine: Bool)?>(nil)

    /// A renderer writing to standard error (or to `write`).
    ///
    /// - Parameters:
    ///   - style: how progress is shown (``Style/automatic``: in place on a terminal, else plain lines).
    ///   - plainInterval: the time between two plain lines (default 60 s, the heartbeat's); the in-place line is
    ///     redrawn at most ten times a second whatever this says.
    ///   - timekeeper: the monotonic clock the redraws are paced by (`Timekeeper.system` by default).
    ///   - write: where the text goes; `nil` for standard error, where the in-place line is ended before anyone
    ///     else's ``standardError`` text.
    ///   - columns: the terminal's width, asked at each redraw (default:
    ///     ``TerminalWidth/current(of:environment:)`` of standard error: `TIOCGWINSZ`, then `COLUMNS`, else 80).
    ///   - now: the wall clock for the plain lines' timestamps.
    public init(
        style: Style = .automatic, plainInterval: Duration = .seconds(60), timekeeper: Timekeeper = .system,
        write: (@Sendable (String) -> Void)? = nil,
        columns: @escaping @Sendable () -> Int = { TerminalWidth.current(of: 2) },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.style = style
        self.write = write ?? { Self.writeAll($0) }
        self.ownsStandardError = write == nil
        self.terminalInterval = 0.1
        self.plainInterval = plainInterval.seconds
        self.timekeeper = timekeeper
        self.columns = columns
        self.now = now
    }

    /// Whether a line is being redrawn in place on standard error: the next other write ends it first.
    private static let lineInPlace = Mutex(false)

    /// Writes straight to file descriptor 2 (unbuffered). While a progress line is being redrawn in place there,
    /// a newline goes first, so `text` starts on a line of its own (the progress line stays as it was, with a
    /// terminal's `^C` after it); the next redraw starts on a fresh line.
    public static let standardError: @Sendable (String) -> Void = { text in
        lineInPlace.withLock { open in
            writeAll(open && !text.hasPrefix("\r") ? "\n" + text : text)
            open = false
        }
    }

    private static func writeAll(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Redraws the in-place line: written under the same lock as ``standardError``'s, then marked open.
    private func drawInPlace(_ text: String) {
        guard ownsStandardError else { return write(text) }
        Self.lineInPlace.withLock { open in
            write(text)
            open = true
        }
    }

    /// Ends the in-place line with `text` (nothing more is drawn in place until the next update).
    private func endInPlace(_ text: String) {
        guard ownsStandardError else { return write(text) }
        Self.lineInPlace.withLock { open in
            write(text)
            open = false
        }
    }

    /// Shows `snapshot` if enough time has passed since the last update.
    public func update(_ snapshot: ProgressSnapshot) {
        guard style != .quiet else { return }
        let now = timekeeper.elapsed().seconds
        let interval = style == .terminal ? terminalInterval : plainInterval
        let first = last.withLock { last -> Bool? in
            if let previous = last, now - previous.time < interval { return nil }
            defer { last = (now, true) }
            return last == nil
        }
        guard let first else { return }
        switch style {
        case .terminal: drawInPlace("\r\u{1B}[2K" + Self.line(snapshot, first: first, columns: columns()))
        case .plain: write(Self.timestamp(self.now()) + " " + Self.text(Self.parts(snapshot, first: first)) + "\n")
        case .quiet: break
        }
    }

    /// Ends the progress display with a final summary line (nothing with `.quiet`).
    public func finish(_ summary: String) {
        switch style {
        case .terminal:
            let drew = last.withLock { $0?.drewLine ?? false }
            endInPlace((drew ? "\r\u{1B}[2K" : "") + summary + (summary.isEmpty ? "" : "\n"))
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

    /// The parts of a progress line, most important first: count and percent, ETA, failures, rate, elapsed time.
    /// No rate and no ETA on the first line, nor before an item of this session finished: a rate over one item
    /// in the first moments says nothing (it read `12.0/s`).
    struct Parts {
        var count: String
        var rate: String
        var elapsed: String
        var eta: String
        var failed: String?
    }

    static func parts(_ snapshot: ProgressSnapshot, first: Bool) -> Parts {
        let count: String
        if let total = snapshot.total, let fraction = snapshot.fraction {
            count = Self.count(snapshot.done, of: total, fraction: fraction)
        } else {
            count = "\(snapshot.done.formatted) done"
        }
        let measured = !first && snapshot.completed + snapshot.failed > 0
        let rate = measured ? snapshot.ratePerSecond.map(ProgressSnapshot.rate) ?? "–/s" : "–/s"
        let eta = "ETA " + ((measured ? snapshot.etaSeconds : nil).map(ProgressSnapshot.duration) ?? "unknown")
        let elapsed = "elapsed " + ProgressSnapshot.duration(snapshot.elapsedSeconds.rounded(.down))
        return Parts(
            count: count, rate: rate, elapsed: elapsed, eta: eta,
            failed: snapshot.failed > 0 ? "\(snapshot.failed.formatted) failed" : nil)
    }

    static func count(_ done: Int, of total: Int, fraction: Double) -> String {
        "\(done.formatted) / \(total.formatted) (\(String(format: "%.1f", fraction * 100)) %)"
    }

    /// `41,200 / 152,265 (27.1 %) · 35.2/s · elapsed 12m 03s · ETA 52m 34s · 3 failed`
    static func text(_ parts: Parts, rate: Bool = true, elapsed: Bool = true) -> String {
        var shown = [parts.count]
        if rate { shown.append(parts.rate) }
        if elapsed { shown.append(parts.elapsed) }
        shown.append(parts.eta)
        if let failed = parts.failed { shown.append(failed) }
        return shown.joined(separator: " · ")
    }

    /// The widest bar drawn, whatever the width.
    static let maximumBar = 100
    /// A narrower bar is left out.
    static let minimumBar = 10

    /// `[#########...........] 41,200 / 152,265 (27.1 %) · 35.2/s · elapsed 12m 03s · ETA 52m 34s · 3 failed`,
    /// at most `columns - 1` characters: the bar takes what the text leaves (up to `maximumBar`), reckoned on
    /// a text as wide as it gets in the run's first hour so that the bar keeps its width from one redraw to the
    /// next; where even a short bar does not fit it goes, then the elapsed time, then the rate, and a line still
    /// too long is cut. The last column stays free: a character written there leaves some terminals waiting to
    /// wrap.
    public static func line(_ snapshot: ProgressSnapshot, first: Bool = false, columns: Int = 80) -> String {
        let room = max(1, columns - 1)
        let parts = parts(snapshot, first: first)
        let full = text(parts)
        if let fraction = snapshot.fraction, let total = snapshot.total {
            var widest = parts
            widest.count = count(total, of: total, fraction: 1)
            widest.rate = "999.9/s"
            widest.elapsed = "elapsed 59m 59s"
            widest.eta = "ETA 59m 59s"
            let reserved = max(text(widest).count, full.count)
            let bar = min(maximumBar, room - reserved - 3)
            if bar >= minimumBar {
                let filled = Int((fraction * Double(bar)).rounded(.down))
                return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: bar - filled) + "] " + full
            }
        }
        for candidate in [full, text(parts, elapsed: false), text(parts, rate: false, elapsed: false)] where candidate.count <= room {
            return candidate
        }
        return String(text(parts, rate: false, elapsed: false).prefix(room))
    }

    /// `2026-12-02T14:05:09Z`: when a plain line was written.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

/// The width of the terminal progress is drawn on.
///
/// ```swift
/// let columns = TerminalWidth.current(of: 2)   // 80 in a default xterm
/// ```
public enum TerminalWidth {
    /// The width when nothing says otherwise.
    public static let fallback = 80

    /// `TIOCGWINSZ` on `descriptor` (the one progress is written to), then the `COLUMNS` environment variable,
    /// else ``fallback``.
    public static func current(of descriptor: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        var size = winsize()
        if ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let text = environment["COLUMNS"], let columns = Int(text), columns > 0 { return columns }
        return fallback
    }
}

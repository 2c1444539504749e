import DurableCLI
@testable import DurableIO
import Foundation
import Testing

/// The progress line fits the width it is given: never more than `columns - 1` characters (the last column stays
/// free), a bar that grows with the width, parts dropped in a fixed order where the width is small; no rate and
/// no ETA on the first line; plain lines start with an ISO 8601 UTC timestamp.
@Suite("Progress line", .inATestSlot)
struct ProgressLineTests {
    static func snapshot(done: Int = 41_200, total: Int? = 152_265, failed: Int = 3, skipped: Int = 0) -> ProgressSnapshot {
        ProgressSnapshot(
            total: total, completed: done - failed - skipped, failed: failed, skipped: skipped, ratePerSecond: 35.2,
            etaSeconds: 3154, elapsedSeconds: 723.4, secondsSinceProgress: 0.2)
    }

    static func bar(_ line: String) -> Int {
        guard line.hasPrefix("["), let end = line.firstIndex(of: "]") else { return 0 }
        return line.distance(from: line.index(after: line.startIndex), to: end)
    }

    @Test("Every width from 10 to 300 columns: the line takes at most columns - 1 characters")
    func fitsEveryWidth() {
        for columns in 10...300 {
            for snapshot in [Self.snapshot(), Self.snapshot(total: nil), Self.snapshot(done: 152_265, failed: 0)] {
                let line = ProgressRenderer.line(snapshot, columns: columns)
                #expect(line.count <= columns - 1, "\(columns) columns: \(line.count) characters: \(line)")
            }
        }
    }

    @Test("80 columns: bar, count, rate, elapsed time and ETA; 200 columns: a wider bar; 40 columns: no bar, the count and ETA")
    func partsByWidth() {
        let s = Self.snapshot()
        let wide = ProgressRenderer.line(s, columns: 200)
        let normal = ProgressRenderer.line(s, columns: 80)
        let narrow = ProgressRenderer.line(s, columns: 40)
        #expect(normal.contains("41,200 / 152,265 (27.1 %) · 35.2/s · elapsed 12m 03s · ETA 52m 34s · 3 failed"), "\(normal)")
        #expect(Self.bar(wide) > 20 && Self.bar(wide) > Self.bar(normal), "\(wide)")
        #expect(wide.hasPrefix("[" + String(repeating: "#", count: Self.bar(wide) * 41_200 / 152_265)))
        #expect(!narrow.hasPrefix("[") && narrow.hasPrefix("41,200 / 152,265 (27.1 %)") && narrow.contains("ETA 52m 34s"), "\(narrow)")
    }

    @Test("The bar keeps its width while the text beside it grows (redraws do not jitter)")
    func barWidthIsSteady() {
        let widths = Set([0, 9, 99, 999, 9_999, 99_999, 152_265].map { done in
            Self.bar(ProgressRenderer.line(Self.snapshot(done: done, failed: 0), columns: 100))
        })
        #expect(widths.count == 1, "\(widths)")
    }

    @Test("The first line, and any line before this session finished an item, shows no rate and no ETA")
    func noRateOnTheFirstLine() {
        let first = ProgressRenderer.line(Self.snapshot(), first: true, columns: 120)
        #expect(first.contains("· –/s ·") && first.contains("ETA unknown") && !first.contains("35.2/s"), "\(first)")
        let resumed = ProgressRenderer.line(Self.snapshot(done: 500, failed: 0, skipped: 500), columns: 120)
        #expect(resumed.contains("· –/s ·") && resumed.contains("ETA unknown"), "\(resumed)")
        #expect(ProgressRenderer.line(Self.snapshot(), columns: 120).contains("35.2/s"))
    }

    @Test("Plain lines start with an ISO 8601 UTC timestamp and carry no control characters")
    func plainLinesAreTimestamped() {
        let output = OutputBox()
        let renderer = ProgressRenderer(
            style: .plain, plainInterval: .zero, write: { output.append($0) },
            now: { Date(timeIntervalSince1970: 1_796_220_005) })
        renderer.update(Self.snapshot())
        renderer.update(Self.snapshot(done: 41_300))
        let lines = output.text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.hasPrefix("2026-12-02T14:00:05Z ") }, "\(lines)")
        #expect(lines[1].hasSuffix("41,300 / 152,265 (27.1 %) · 35.2/s · elapsed 12m 03s · ETA 52m 34s · 3 failed"))
        #expect(!output.text.contains("\r") && !output.text.contains("\u{1B}"))
    }

    @Test("The width: the terminal's (TIOCGWINSZ), else COLUMNS, else 80")
    func widthSources() throws {
        let pipe = Pipe()  // not a terminal: TIOCGWINSZ fails
        let fd = pipe.fileHandleForWriting.fileDescriptor
        #expect(TerminalWidth.current(of: fd, environment: ["COLUMNS": "132"]) == 132)
        #expect(TerminalWidth.current(of: fd, environment: ["COLUMNS": "junk"]) == 80)
        #expect(TerminalWidth.current(of: fd, environment: [:]) == 80)
    }
}

final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func append(_ text: String) { lock.withLock { value += text } }
    var text: String { lock.withLock { value } }
}

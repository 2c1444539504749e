import Foundation

/// A `--glob` pattern, matched against a path relative to the input directory one part at a time: each part by
/// `fnmatch(3)` (`*`, `?`, `[…]`, backslash escapes; `*` never crosses `/`), and a part that is exactly `**`
/// matches any number of folders, none included (as in `.gitignore` and bash's `globstar`).
///
/// ```swift
/// Glob("**/*.mp4").matches(Array("a/b/clip.mp4".utf8))   // true
/// Glob("*.mp4").matches(Array("a/clip.mp4".utf8))        // false: * does not cross /
/// ```
struct Glob: Sendable {
    private let parts: [[CChar]]

    init(_ pattern: String) {
        parts = Array(pattern.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { $0.map { CChar(bitPattern: $0) } + [0] }
    }

    /// Whether the relative path `path` (bytes, `/`-separated) matches.
    func matches(_ path: [UInt8]) -> Bool {
        let names = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { $0.map { CChar(bitPattern: $0) } + [0] }
        return Self.match(parts[...], names[...])
    }

    private static let globstar: [CChar] = [CChar(bitPattern: UInt8(ascii: "*")), CChar(bitPattern: UInt8(ascii: "*")), 0]

    private static func match(_ parts: ArraySlice<[CChar]>, _ names: ArraySlice<[CChar]>) -> Bool {
        guard let part = parts.first else { return names.isEmpty }
        if part == globstar {
            let rest = parts.dropFirst()
            // `**` as the last part matches everything below; otherwise try every number of folders it can take.
            if rest.isEmpty { return !names.isEmpty }
            for skipped in 0..<names.count where match(rest, names.dropFirst(skipped)) { return true }
            return false
        }
        guard let name = names.first, fnmatch(part, name, 0) == 0 else { return false }
        return match(parts.dropFirst(), names.dropFirst())
    }
}

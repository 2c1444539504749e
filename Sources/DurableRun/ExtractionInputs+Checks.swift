import DurableIO
import Foundation
import SystemPackage

extension ExtractionInputs {
    /// These inputs without the run's own output and state files, when the output sits inside the inputs:
    /// `<out>`, `<out>.done`, `<out>.rows.jsonl`, `<out>.errors.jsonl`, `<out>.lock`, `<out>.heartbeat`, the
    /// `.torn-` files recovery sets aside beside them, and their temporary files. Left out only when the file is
    /// in the output's own directory (compared after resolving symbolic links), so an input that merely shares a
    /// name stays in. What was left out is in ``excludedState``.
    public func excludingState(of run: CheckpointedRun) -> ExtractionInputs {
        let names = StateNames(run.stateFiles.compactMap { $0.lastComponent?.platformBytes })
        guard let outputDirectory = Self.resolved(run.output.parentDirectory) else { return self }
        var sameDirectory: [[UInt8]: Bool] = [:]
        var copy = self
        copy.keys = []
        copy.keys.reserveCapacity(keys.count)
        for key in keys {
            let bytes = key.bytes
            let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
            guard names.matches(bytes[(slash.map { $0 + 1 } ?? 0)...]) else {
                copy.keys.append(key)
                continue
            }
            let parent = slash.map { Array(bytes[..<$0]) } ?? []
            let inOutputDirectory: Bool
            if let known = sameDirectory[parent] {
                inOutputDirectory = known
            } else {
                inOutputDirectory = Self.resolved(directory(holding: bytes, parent: parent)) == outputDirectory
                sameDirectory[parent] = inOutputDirectory
            }
            if inOutputDirectory { copy.excludedState.append(key) } else { copy.keys.append(key) }
        }
        return copy
    }

    /// The directory that holds the input `key`, whose bytes before its last `/` are `parent`.
    private func directory(holding key: [UInt8], parent: [UInt8]) -> FilePath {
        let absolute = key.first == UInt8(ascii: "/")
        if let root { return parent.isEmpty ? root : root.appending(Self.components(parent)) }
        if parent.isEmpty { return absolute ? "/" : "." }
        return FilePath(root: absolute ? "/" : nil, Self.components(parent))
    }

    /// The note an operator reads once when state files were left out, or `nil` when none were.
    public var exclusionNote: String? {
        guard !excludedState.isEmpty else { return nil }
        let sample = excludedState.prefix(3).map(\.description).joined(separator: ", ") + (excludedState.count > 3 ? ", …" : "")
        let place = root.map { "under \($0)" } ?? "in \(listFile.map { "\($0)" } ?? "the input list")"
        return "left out \(excludedState.count.formatted) file(s) \(place) that are this run's own state (\(sample)): the output is inside its inputs"
    }

    /// Refuses an empty set of inputs: a run over nothing would say `complete: 0 rows verified`, which reads
    /// as success.
    ///
    /// - Throws: ``RunError/Code/noInputs`` saying what was searched and, for a glob that matched none of the
    ///   files, how many there were and how the pattern is matched.
    public func requireSome() throws(RunError) {
        guard keys.isEmpty else { return }
        let state = excludedState.isEmpty ? "" : " other than this run's own state files"
        if let listFile {
            throw RunError(
                .noInputs, message: "the input list \(listFile) names no inputs\(state)",
                hint: "Give one input path per line, or pass --allow-empty if an empty run is what you mean.")
        }
        let place = root.map { "\($0)" } ?? "the input directory"
        if let pattern, candidates > excludedState.count {
            let hint: String
            if !pattern.contains("/") {
                hint = "The pattern is matched against each file's whole path under \(place), and * does not cross /: use '**/\(pattern)' to match at any depth (** matches any number of folders)."
            } else {
                hint = "The pattern is matched against each file's whole path under \(place) (e.g. a/b/clip.mp4); * does not cross /, and a part that is exactly ** matches any number of folders."
            }
            throw RunError(
                .noInputs, message: "--glob '\(pattern)' matched 0 of \(candidates.formatted) files under \(place)\(state)",
                hint: hint + " Pass --allow-empty if an empty run is what you mean.")
        }
        throw RunError(
            .noInputs, message: "no input files under \(place)\(state)",
            hint: "Hidden files and symbolic links are skipped. Check --inputs, or pass --allow-empty if an empty run is what you mean.")
    }

    /// The names of a run's state files, and the prefixes of the files made beside them.
    private struct StateNames {
        /// `<state>`, `<state>.torn-`, `.<state>.durable-tmp-` for each state file.
        let exact: [[UInt8]]
        let prefixes: [[UInt8]]

        init(_ names: [[UInt8]]) {
            exact = names
            prefixes = names.flatMap { [$0 + Array(".torn-".utf8), [UInt8(ascii: ".")] + $0 + Array(".durable-tmp-".utf8)] }
        }

        /// Whether a file name is one of the run's state files, a `.torn-` file set aside beside one, or one's
        /// temporary file.
        func matches(_ name: ArraySlice<UInt8>) -> Bool {
            exact.contains { name.elementsEqual($0) } || prefixes.contains { name.starts(with: $0) }
        }
    }

    /// The directory with every symbolic link resolved, or `nil` when it cannot be resolved.
    private static func resolved(_ directory: FilePath) -> [UInt8]? {
        directory.withPlatformString { path -> [UInt8]? in
            guard let real = realpath(path, nil) else { return nil }
            defer { free(real) }
            return Array(UnsafeRawBufferPointer(start: real, count: strlen(real)))
        }
    }
}

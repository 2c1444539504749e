import DurableIO
import DurableRun
import Foundation
import SystemPackage
import Testing

/// `ExtractionInputs` on real trees: what a glob matches, what an empty set of inputs says, and which of the
/// run's own files are left out when the output sits inside its inputs.
@Suite("ExtractionInputs", .inATestSlot)
struct ExtractionInputsTests {
    let dir = TemporaryDirectory()

    func make(_ paths: [String]) throws {
        for path in paths {
            let file = dir.path.appending(path)
            try FileManager.default.createDirectory(atPath: file.removingLastComponent().string, withIntermediateDirectories: true)
            writeRaw("x\n", to: file)
        }
    }

    func keys(_ pattern: String?) throws -> [String] {
        try ExtractionInputs.directory(dir.path, matching: pattern).keys.map(\.description)
    }

    @Test("* stays within a folder; a ** part matches any number of folders, none included")
    func globParts() throws {
        try make(["top.mp4", "a/1.mp4", "a/b/2.mp4", "a/b/c/3.mp4", "a/notes.txt", "x/a/4.mp4"])
        #expect(try keys("*.mp4") == ["top.mp4"])
        #expect(try keys("*/*.mp4") == ["a/1.mp4"])
        #expect(try keys("**/*.mp4") == ["a/1.mp4", "a/b/2.mp4", "a/b/c/3.mp4", "top.mp4", "x/a/4.mp4"])
        #expect(try keys("a/**/*.mp4") == ["a/1.mp4", "a/b/2.mp4", "a/b/c/3.mp4"])
        #expect(try keys("a/**") == ["a/1.mp4", "a/b/2.mp4", "a/b/c/3.mp4", "a/notes.txt"])
        #expect(try keys("**/a/*.mp4") == ["a/1.mp4", "x/a/4.mp4"])
        #expect(try keys("a/b/[0-9].mp4") == ["a/b/2.mp4"])
    }

    @Test("No match and no files: refused with the count, the pattern and a hint that is true of this glob")
    func emptyIsRefused() throws {
        try make(["a/1.mp4", "a/2.mp4"])
        let none = try ExtractionInputs.directory(dir.path, matching: "*.mp4")
        let error = #expect(throws: RunError.self) { try none.requireSome() }
        #expect(error?.code == .noInputs)
        #expect(error?.message == "--glob '*.mp4' matched 0 of 2 files under \(dir.path)")
        #expect(error?.hint?.contains("use '**/*.mp4' to match at any depth") == true)
        // The hint's advice holds.
        #expect(try ExtractionInputs.directory(dir.path, matching: "**/*.mp4").keys.count == 2)
    }

    @Test("The output's own files are left out only in the output's directory, however that directory is named")
    func stateFilesLeftOut() throws {
        try make([
            "f1.txt", "out.jsonl", "out.jsonl.done", "out.jsonl.rows.jsonl", "out.jsonl.errors.jsonl", "out.jsonl.lock",
            "out.jsonl.heartbeat", "out.jsonl.done.torn-20261201T000000Z", "out.jsonl.donee", "sub/out.jsonl",
        ])
        try FileManager.default.createSymbolicLink(atPath: dir.file("link").string, withDestinationPath: dir.path.string)
        let run = CheckpointedRun(output: dir.file("link").appending("out.jsonl"))
        let inputs = try ExtractionInputs.directory(dir.path).excludingState(of: run)
        #expect(inputs.keys.map(\.description) == ["f1.txt", "out.jsonl.donee", "sub/out.jsonl"])
        #expect(inputs.excludedState.count == 7)
        #expect(inputs.exclusionNote?.hasPrefix("left out 7 file(s) under \(dir.path) that are this run's own state") == true)
    }
}

import Foundation
import Testing

/// Every Swift block of the README, the guides in `Documentation/` and the DocC articles is the shown part of a
/// file that the build compiles (issue 17): `Examples/DocumentationSnippets/` (a target of the package), or a
/// test file for a block that shows the tests' own harness. A snippet file starts with
/// `// snippet.of <Markdown file> <block number>`; its lines between `// snippet.show` and `// snippet.hide` are the
/// block, exactly (the block's common indentation removed); the hidden lines declare what the block leaves out.
@Suite("Documentation snippets compile: each Swift block of the docs is the shown part of a compiled file", .inATestSlot)
struct DocumentationSnippetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The Markdown files whose Swift blocks must compile.
    static func documents() throws -> [String] {
        let manager = FileManager.default
        var documents = ["README.md"]
        documents += try manager.contentsOfDirectory(atPath: root.appendingPathComponent("Documentation").path)
            .filter { $0.hasSuffix(".md") }.map { "Documentation/" + $0 }
        for module in try manager.contentsOfDirectory(atPath: root.appendingPathComponent("Sources").path) {
            let folder = "Sources/\(module)/\(module).docc"
            guard let articles = try? manager.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path) else { continue }
            documents += articles.filter { $0.hasSuffix(".md") }.map { "\(folder)/\($0)" }
        }
        return documents.sorted()
    }

    /// The Swift blocks of a Markdown file, each without its common indentation and trailing blank lines.
    static func swiftBlocks(in document: String) throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent(document), encoding: .utf8)
        var blocks: [[Substring]] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop(while: { $0 == " " })
            if current == nil, trimmed == "```swift" {
                current = []
            } else if current != nil, trimmed == "```" {
                blocks.append(current!)
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks.map(normalized)
    }

    /// Lines without their common indentation and without trailing blank lines, joined.
    static func normalized(_ lines: [Substring]) -> String {
        var lines = lines.map { $0.replacing(/\s+$/, with: "") }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        let indent = lines.filter { !$0.isEmpty }.map { $0.prefix(while: { $0 == " " }).count }.min() ?? 0
        return lines.map { String($0.dropFirst(min(indent, $0.count))) }.joined(separator: "\n")
    }

    /// Every snippet file: (Markdown file, block number) → the shown lines.
    static func snippets() throws -> [String: String] {
        let manager = FileManager.default
        var files = try manager.contentsOfDirectory(atPath: root.appendingPathComponent("Examples/DocumentationSnippets").path)
            .map { "Examples/DocumentationSnippets/" + $0 }
        files += try manager.contentsOfDirectory(atPath: root.appendingPathComponent("Tests/DurableIOTests").path)
            .filter { $0.hasPrefix("DocumentationSnippet+") }.map { "Tests/DurableIOTests/" + $0 }
        var snippets: [String: String] = [:]
        for file in files where file.hasSuffix(".swift") {
            let lines = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
            guard let header = lines.first, header.hasPrefix("// snippet.of ") else {
                Issue.record("\(file) does not start with // snippet.of <file> <block>")
                continue
            }
            let words = header.dropFirst("// snippet.of ".count).split(separator: " ")
            let key = "\(words[0]) \(words[1])"
            var shown: [Substring] = []
            var showing = false
            for line in lines.dropFirst() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed == "// snippet.show" { showing = true } else if trimmed == "// snippet.hide" { showing = false } else if showing { shown.append(line) }
            }
            #expect(snippets[key] == nil, "two snippet files for \(key)")
            snippets[key] = normalized(shown)
        }
        return snippets
    }

    @Test("each Swift block of README.md, Documentation/ and the DocC articles equals its compiled snippet file")
    func everyBlockIsACompiledSnippet() throws {
        let snippets = try Self.snippets()
        var blocks = 0
        for document in try Self.documents() {
            for (index, block) in try Self.swiftBlocks(in: document).enumerated() {
                blocks += 1
                let key = "\(document) \(index + 1)"
                guard let snippet = snippets[key] else {
                    Issue.record("\(key): no snippet file; add one under Examples/DocumentationSnippets starting with // snippet.of \(key)")
                    continue
                }
                #expect(snippet == block, "\(key) differs from its snippet file:\n--- the document\n\(block)\n--- the snippet\n\(snippet)")
            }
        }
        #expect(blocks == snippets.count, "\(snippets.count) snippet files for \(blocks) blocks: a snippet file names a block that is gone")
        #expect(blocks >= 21)
    }
}

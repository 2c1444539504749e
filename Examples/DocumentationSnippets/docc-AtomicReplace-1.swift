// snippet.of Sources/DurableIO/DurableIO.docc/AtomicReplace.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum AtomicReplaceExample {
// snippet.show

struct Manifest: Codable { var rows: Int; var complete: Bool }

func publish(rows: [String]) throws {
    // Small content, in one call.
    try AtomicFile.write("threshold = 0.8\n", to: "settings.toml")
    try AtomicFile.writeJSON(Manifest(rows: rows.count, complete: true), to: "manifest.json")

    // Streaming: the content never has to fit in memory.
    let options = AtomicFile.Options(permissions: FilePermissions(rawValue: 0o640))
    let result = try AtomicFile.write(to: "rows.jsonl", options: options) { writer in
        for row in rows {
            try writer.write(row)
            try writer.write([0x0A])
        }
    }
    print(result.bytesWritten, result.directorySynced)
}
// snippet.hide
}

// snippet.of Sources/DurableIO/DurableIO.docc/AtomicReplace.md 2 (see README-1.swift for how snippets are checked).
import DurableIO

enum AtomicReplaceBestEffortExample {
    static func body() throws {
// snippet.show
try AtomicFile.write("v2\n", to: "/mnt/fuse/config.txt", options: .init(directorySync: .bestEffort))
// snippet.hide
    }
}

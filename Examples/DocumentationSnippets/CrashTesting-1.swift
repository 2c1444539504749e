// snippet.of Documentation/CrashTesting.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
import DurableIOTesting
import Testing
// snippet.hide

struct CrashTestingExample {
    func myExport(_ id: String, fileSystem: any FileSystem) throws {
        try AtomicFile.write("\(id)\n", to: FilePath("/data/\(id).txt"), fileSystem: fileSystem)
    }

    func myExportExists(_ id: String, _ fileSystem: any FileSystem) -> Bool {
        (try? fileSystem.stat(FilePath("/data/\(id).txt"), followSymlinks: true)) != nil
    }
// snippet.show

@Test func myExportSurvivesAPowerCutAnywhere() {
    let report = CrashHarness(pageSize: 16).explore(
        setUp: { fs in try fs.createDirectory("/data") },                        // durable before the run
        workload: { fs, run in
            let done = try KeyLedger.open(at: "/data/export.done", fileSystem: fs)
            for id in ["a", "b", "c"] {
                try myExport(id, fileSystem: fs)                                    // your code
                try done.insert(RecordKey(id))
                run.acknowledge(id)                                                 // it returned: it is promised
            }
        },
        recover: { fs in try KeyLedger.open(at: "/data/export.done", fileSystem: fs).close() },
        verify: { fs, run in                                                        // your invariant
            let done = try KeyLedger.recover(at: "/data/export.done", fileSystem: fs).keys
            for id in run.acknowledged where !done.contains(RecordKey(id)) || !myExportExists(id, fs) {
                throw CrashHarness.Broken("\(id) was acknowledged but is gone")
            }
        })
    #expect(report.violations.isEmpty, "\(report)")
}
// snippet.hide
}

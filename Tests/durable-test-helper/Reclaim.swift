import ArgumentParser
import DurableIO
import Foundation
import SystemPackage

/// Races for a `LockFile` (trying every 2 ms), checks an "in use" marker on entering and leaving the critical
/// section, holds until `--leave-when` exists, releases. With `--pause-dir` this process pauses at its first rename
/// of the lock path (see ``PausingFileSystem``): before it until `<dir>/go-before` exists, after it until
/// `<dir>/go-after` exists.
///
/// Prints `busy` (once, at the first refused try), `entered <token>`, `TWO HOLDERS` when the marker shows another
/// holder, `compromised` when release says so. Exits 3 when it saw another holder, 0 otherwise.
struct Reclaim: ParsableCommand {
    @Option var path: String
    @Option(help: "The 'in use' marker, created with O_EXCL on entry and removed on exit.") var marker: String
    @Option(help: "Stay in the critical section until this file exists.") var leaveWhen: String
    @Option(help: "Pause at the first rename of the lock path, driven by files in this directory.") var pauseDir: String?
    @Option(help: "Seconds to keep trying.") var timeout: Double = 30

    func run() throws {
        let lockPath = FilePath(path)
        let fileSystem: any FileSystem =
            pauseDir.map { dir in
                PausingFileSystem(pausing: lockPath, before: dir + "/go-before", after: dir + "/go-after") { TestHelper.say($0) }
            } ?? RealFileSystem()
        let lock = LockFile(at: lockPath, fileSystem: fileSystem)
        let deadline = Date().addingTimeInterval(timeout)
        var saidBusy = false
        while try !lock.tryAcquire() {
            if !saidBusy {
                TestHelper.say("busy")
                saidBusy = true
            }
            guard Date() < deadline else { throw ExitCode(4) }
            usleep(2000)
        }
        TestHelper.say("entered \(lock.token ?? 0)")
        var sawAnother = false
        let mine = Foundation.open(marker, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        if mine < 0 {
            TestHelper.say("TWO HOLDERS: the marker was there on entry")
            sawAnother = true
        } else {
            Foundation.close(mine)
        }
        while !FileManager.default.fileExists(atPath: leaveWhen) { usleep(2000) }
        if mine >= 0 && Foundation.unlink(marker) != 0 {
            TestHelper.say("TWO HOLDERS: the marker was gone on exit")
            sawAnother = true
        }
        do { try lock.release() } catch let error as DurableIOError where error.code == .lockCompromised {
            TestHelper.say("compromised")
        }
        if sawAnother { throw ExitCode(3) }
    }
}

import DurableRun
import Foundation
import Testing

@Suite("Item commands", .inATestSlot)
struct ItemCommandTests {
    @Test func theRowIsStandardOutputAndTheArgumentIsQuoted() async throws {
        let command = ItemCommand(#"printf '{"arg":"%s"}' {}"#)
        let row = try await command.run(argument: "it's $HOME; rm -rf /")
        #expect(String(decoding: row, as: UTF8.self) == #"{"arg":"it's $HOME; rm -rf /"}"#)
    }

    @Test func aFailureCarriesTheExitStatusAndTheTailOfStandardError() async throws {
        let command = ItemCommand("echo progress; echo 'no such codec' >&2; exit 2")
        do {
            _ = try await command.run(argument: "x")
            Issue.record("should have failed")
        } catch let failure as ItemCommandFailure {
            #expect(failure.description == "exit status 2: no such codec")
        }
    }

    @Test func outputLargerThanAPipeBufferDoesNotDeadlock() async throws {
        let row = try await ItemCommand("head -c 1000000 /dev/zero | tr '\\0' x").run(argument: "")
        #expect(row.count == 1_000_000)
    }

    @Test func aHungCommandIsKilledWithItsWholeProcessGroup() async throws {
        // Never ends on its own; the shell's background child would keep the pipe open: only a kill of the whole
        // group ends it. (How long this takes depends on the machine's load, not on the command: no time bound.)
        let marker = "sleep \(UInt32.random(in: 100_000 ... 999_999))"  // a duration no one else uses
        do {
            _ = try await ItemCommand("\(marker) & \(marker)", timeout: .milliseconds(200), grace: .milliseconds(200))
                .run(argument: "")
            Issue.record("should have timed out")
        } catch let failure as ItemCommandFailure {
            #expect(failure.status.hasPrefix("timed out after"))
        }
        let stray = try await ItemCommand("pgrep -f '^\(marker)$' || true").run(argument: "")
        #expect(stray.isEmpty, "the whole process group was killed")
    }
}

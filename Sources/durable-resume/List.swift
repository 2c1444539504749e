import ArgumentParser
import DurableCLI
import DurableRunStore
import Foundation

/// `durable-resume list`: every run, newest first.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the runs, newest first, with their state and counts.")

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print one JSON object (schema 1) with a `runs` array.")
    var json = false

    func run() async throws {
        do {
            let (runs, states) = try await database.using(readOnly: true) { opened in
                let runs = try await opened.store.runs()
                var states: [String: RunState] = [:]
                for run in runs { states[run.id] = try await opened.store.currentState(of: run) }
                return (runs, states)
            }
            if json {
                try JSONOutput.print(ListJSON(runs: runs.map { RunJSON($0, state: states[$0.id]) }))
                return
            }
            if runs.isEmpty { say("no runs in \(database.display)") }
            for run in runs {
                let started = run.startedAt.formatted(Date.ISO8601FormatStyle())
                say("\(run.id)  \(states[run.id]!.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))  \(run.completedCount + run.failedCount)/\(run.totalItems) done, \(run.failedCount) failed  \(started)  \(run.sourceName) v\(run.sourceVersion)\(run.name.map { "  \($0)" } ?? "")")
            }
        } catch { throw fail(error, store: database) }
    }
}

struct ListJSON: Encodable {
    var runs: [RunJSON]
}

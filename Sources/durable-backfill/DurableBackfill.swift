import ArgumentParser

@main
struct DurableBackfill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "durable-backfill", subcommands: [])
}

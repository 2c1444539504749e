import ArgumentParser
import DurableIO
import DurableRun
import SystemPackage

/// Where the inputs come from: a directory (optionally filtered by a glob) or a list file.
struct InputOptions: ParsableArguments {
    @Option(help: "A directory of inputs (searched recursively; hidden files skipped). Keys are paths relative to it.")
    var inputs: String?

    @Option(help: "Only inputs whose path relative to --inputs matches this pattern (fnmatch per folder: * does not cross /; a part that is exactly ** matches any number of folders, so **/*.mp4 matches at any depth).")
    var glob: String?

    @Option(help: "A file listing one input path per line (the line is the key).")
    var inputList: String?

    var isGiven: Bool { inputs != nil || inputList != nil }

    func validate() throws {
        if inputs != nil && inputList != nil { throw ValidationError("Give --inputs or --input-list, not both.") }
        if glob != nil && inputs == nil { throw ValidationError("--glob needs --inputs.") }
    }

    func load() throws -> ExtractionInputs {
        if let inputs { return try ExtractionInputs.directory(FilePath(inputs), matching: glob) }
        if let inputList { return try ExtractionInputs.list(at: FilePath(inputList)) }
        throw ValidationError("Give the inputs: --inputs DIR [--glob PATTERN] or --input-list FILE.")
    }
}

/// The output every subcommand works on, and its format.
struct OutputOption: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, csv }

    @Option(help: "The final output file. Its state files sit beside it.")
    var output: String

    @Option(help: "Output format: jsonl, or csv (header from the first row's fields; nested values as JSON text). Default: csv for a .csv output, else jsonl.")
    var format: Format?

    @Flag(help: "With csv: widen the header to every row's fields instead of refusing a row with new ones.")
    var csvWiden = false

    var rowFormat: any RowFileFormat {
        switch format ?? (output.lowercased().hasSuffix(".csv") ? .csv : .jsonl) {
        case .csv: return CSVRowFormat(widen: csvWiden)
        case .jsonl: return .jsonLines
        }
    }

    func run(options: CheckpointedRun.Options = .init()) -> CheckpointedRun {
        CheckpointedRun(output: FilePath(output), options: options, format: rowFormat)
    }
}

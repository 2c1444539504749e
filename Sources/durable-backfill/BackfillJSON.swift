import DurableCLI
import DurableIO
import DurableSQLite

/// What `status --json` and `list --json` print, with or without `--name`: `{"backfills":[…],"schema":2}` — one
/// shape, so a script reads `.backfills[0]` either way.
struct BackfillsJSON: Encodable {
    var backfills: [BackfillJSON]
}

/// One backfill as `--json` prints it: every key in every state (`null` when unknown: the bound before the first
/// batch, the rate before a batch finished, the WAL figures outside WAL mode).
///
/// The options are printed in snake_case; in `_durable_backfills.options` they keep the keys they were written with
/// (`{"niceRatio":0.5,…}`), which `resume` reads.
struct BackfillJSON: Encodable {
    var definition: DefinitionJSON
    var options: OptionsJSON
    var status: String
    @JSONNullable var startKey: Int64?
    @JSONNullable var boundKey: Int64?
    @JSONNullable var cursorKey: Int64?
    @JSONNullable var totalRows: Int?
    @JSONNullable var keyDensity: Double?
    @JSONNullable var fraction: Double?
    var examinedRows: Int
    var changedRows: Int
    var unchangedRows: Int
    var batches: Int
    @JSONNullable var lastBatchSize: Int?
    @JSONNullable var lastBatchSeconds: Double?
    @JSONNullable var rowsPerSecond: Double?
    @JSONNullable var etaSeconds: Double?
    @JSONNullable var walBytes: Int?
    @JSONNullable var walPeakBytes: Int?
    @JSONNullable var startedAt: String?
    var updatedAt: String
    @JSONNullable var finishedAt: String?
    @JSONNullable var message: String?
    @JSONNullable var pid: Int32?
    @JSONNullable var host: String?

    init(_ record: BackfillRecord) {
        definition = DefinitionJSON(record.definition)
        options = OptionsJSON(record.options)
        status = record.status.rawValue
        startKey = record.startKey
        boundKey = record.boundKey
        cursorKey = record.cursorKey
        totalRows = record.totalRows
        keyDensity = record.keyDensity
        fraction = record.fraction
        examinedRows = record.examinedRows
        changedRows = record.changedRows
        unchangedRows = record.unchangedRows
        batches = record.batches
        lastBatchSize = record.lastBatchSize
        lastBatchSeconds = record.lastBatchSeconds
        rowsPerSecond = record.rowsPerSecond
        etaSeconds = record.etaSeconds
        walBytes = record.walBytes
        walPeakBytes = record.walPeakBytes
        startedAt = record.startedAt
        updatedAt = record.updatedAt
        finishedAt = record.finishedAt
        message = record.message
        pid = record.pid
        host = record.host
    }

    /// What the backfill changes.
    struct DefinitionJSON: Encodable {
        var name: String
        var table: String
        var keyColumn: String
        var setClause: String
        @JSONNullable var predicate: String?

        init(_ definition: BackfillDefinition) {
            name = definition.name
            table = definition.table
            keyColumn = definition.keyColumn
            setClause = definition.setClause
            predicate = definition.predicate
        }
    }

    /// How it paces itself, durations in milliseconds; exactly one of `batch_size` (fixed batches) and
    /// `target_batch_milliseconds` (sized toward a time) is not `null`.
    struct OptionsJSON: Encodable {
        @JSONNullable var batchSize: Int?
        @JSONNullable var targetBatchMilliseconds: Double?
        var niceRatio: Double
        var fixedYieldMilliseconds: Double
        var maxScanFactor: Double
        var busyTimeoutMilliseconds: Double
        var checkpointThresholdBytes: Int
        var checkpointBusyTimeoutMilliseconds: Double
        var initialBatchSize: Int
        var minimumBatchSize: Int
        var maximumBatchSize: Int

        init(_ options: BackfillOptions) {
            func milliseconds(_ duration: Duration) -> Double { duration.seconds * 1000 }
            switch options.batchSizing {
            case .fixed(let rows): batchSize = rows
            case .targetTime(let time): targetBatchMilliseconds = milliseconds(time)
            }
            niceRatio = options.niceRatio
            fixedYieldMilliseconds = milliseconds(options.fixedYield)
            maxScanFactor = options.maxScanFactor
            busyTimeoutMilliseconds = milliseconds(options.busyTimeout)
            checkpointThresholdBytes = options.checkpointThreshold
            checkpointBusyTimeoutMilliseconds = milliseconds(options.checkpointBusyTimeout)
            initialBatchSize = options.initialBatchSize
            minimumBatchSize = options.minimumBatchSize
            maximumBatchSize = options.maximumBatchSize
        }
    }
}

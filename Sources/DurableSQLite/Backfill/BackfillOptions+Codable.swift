/// The options as recorded in `_durable_backfills.options` and printed by `status --json`: plain numbers an
/// operator can read (`{"targetBatchMilliseconds":50,"niceRatio":1,…}`), not `Duration`'s internal pair.
extension BackfillOptions {
    enum CodingKeys: String, CodingKey {
        case batchSize, targetBatchMilliseconds, niceRatio, fixedYieldMilliseconds, maxScanFactor
        case busyTimeoutMilliseconds, checkpointThresholdBytes, checkpointBusyTimeoutMilliseconds
        case initialBatchSize, minimumBatchSize, maximumBatchSize
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if let rows = try c.decodeIfPresent(Int.self, forKey: .batchSize) {
            batchSizing = .fixed(rows: rows)
        } else if let ms = try c.decodeIfPresent(Double.self, forKey: .targetBatchMilliseconds) {
            batchSizing = .targetTime(.milliseconds(ms))
        }
        func ms(_ key: CodingKeys) throws -> Duration? { try c.decodeIfPresent(Double.self, forKey: key).map { .milliseconds($0) } }
        niceRatio = try c.decodeIfPresent(Double.self, forKey: .niceRatio) ?? niceRatio
        fixedYield = try ms(.fixedYieldMilliseconds) ?? fixedYield
        maxScanFactor = try c.decodeIfPresent(Double.self, forKey: .maxScanFactor) ?? maxScanFactor
        busyTimeout = try ms(.busyTimeoutMilliseconds) ?? busyTimeout
        checkpointThreshold = try c.decodeIfPresent(Int.self, forKey: .checkpointThresholdBytes) ?? checkpointThreshold
        checkpointBusyTimeout = try ms(.checkpointBusyTimeoutMilliseconds) ?? checkpointBusyTimeout
        initialBatchSize = try c.decodeIfPresent(Int.self, forKey: .initialBatchSize) ?? initialBatchSize
        minimumBatchSize = try c.decodeIfPresent(Int.self, forKey: .minimumBatchSize) ?? minimumBatchSize
        maximumBatchSize = try c.decodeIfPresent(Int.self, forKey: .maximumBatchSize) ?? maximumBatchSize
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch batchSizing {
        case .fixed(let rows): try c.encode(rows, forKey: .batchSize)
        case .targetTime(let time): try c.encode(time.seconds * 1000, forKey: .targetBatchMilliseconds)
        }
        try c.encode(niceRatio, forKey: .niceRatio)
        try c.encode(fixedYield.seconds * 1000, forKey: .fixedYieldMilliseconds)
        try c.encode(maxScanFactor, forKey: .maxScanFactor)
        try c.encode(busyTimeout.seconds * 1000, forKey: .busyTimeoutMilliseconds)
        try c.encode(checkpointThreshold, forKey: .checkpointThresholdBytes)
        try c.encode(checkpointBusyTimeout.seconds * 1000, forKey: .checkpointBusyTimeoutMilliseconds)
        try c.encode(initialBatchSize, forKey: .initialBatchSize)
        try c.encode(minimumBatchSize, forKey: .minimumBatchSize)
        try c.encode(maximumBatchSize, forKey: .maximumBatchSize)
    }
}

import DurableIO

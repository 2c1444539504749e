import SystemPackage

/// Assertions that make silent row loss impossible: they reconcile by key (a count can hide a loss behind
/// duplicates) and fail closed with an error an operator can act on.
///
/// ```swift
/// let done = try KeyLedger.recover(at: "features.jsonl.done").keys
/// let present = try KeyCensus.scan(rowsAt: "features.jsonl")
/// let staged = try StagingFile.recover(at: "features.jsonl.rows.jsonl")
/// // Before ever saying "nothing to do":
/// try RowAccounting.checkRestart(ledger: done, output: present, staging: staged.census,
///                                hint: "To re-extract them: durable-extract repair --output features.jsonl")
/// ```
public enum RowAccounting {
    /// Compares the keys the ledger says are done with the keys present in output and staging.
    public static func reconcile(ledger: RecordKeySet, present: RecordKeySet, duplicateCount: Int = 0) -> Reconciliation {
        reconcile(ledger: ledger, presentIn: [present], duplicateCount: duplicateCount)
    }

    /// ``reconcile(ledger:present:duplicateCount:)`` against the union of `parts` (the output and staging), without
    /// building that union: shard by shard, on all cores.
    package static func reconcile(ledger: RecordKeySet, presentIn parts: [RecordKeySet], duplicateCount: Int) -> Reconciliation {
        struct Shard {
            var present = 0
            var missing = 0
            var sampleMissing: [RecordKey] = []
            var unexpected = 0
            var sampleUnexpected: [RecordKey] = []
        }
        let shards = RecordKeySet.mapShards([ledger] + parts) { sets in
            let ledger = sets[0]
            let parts = sets.dropFirst()
            var shard = Shard()
            var missing: [RecordKey] = []
            for key in ledger where !parts.contains(where: { $0.contains(key) }) { missing.append(key) }
            (shard.missing, shard.sampleMissing) = (missing.count, smallest(missing, 5))
            // Each key present is counted in the first part that holds it.
            shard.present = parts.first?.count ?? 0
            for (i, part) in parts.enumerated().dropFirst() {
                for key in part where !parts.prefix(i).contains(where: { $0.contains(key) }) { shard.present += 1 }
            }
            // The ledger's keys present are `ledger.count - missing`; the rest of those present it does not list. Only
            // when there are some is a second pass needed, to name them.
            shard.unexpected = shard.present - (ledger.count - shard.missing)
            guard shard.unexpected > 0 else { return shard }
            var unexpected: [RecordKey] = []
            for (i, part) in parts.enumerated() {
                for key in part where !ledger.contains(key) && !parts.prefix(i).contains(where: { $0.contains(key) }) {
                    unexpected.append(key)
                }
            }
            shard.sampleUnexpected = smallest(unexpected, 5)
            return shard
        }
        return Reconciliation(
            ledgerCount: ledger.count, presentCount: shards.reduce(0) { $0 + $1.present },
            missingCount: shards.reduce(0) { $0 + $1.missing }, sampleMissing: smallest(shards.flatMap(\.sampleMissing), 5),
            duplicateCount: duplicateCount, unexpectedCount: shards.reduce(0) { $0 + $1.unexpected },
            sampleUnexpected: smallest(shards.flatMap(\.sampleUnexpected), 5))
    }

    /// The restart check: every key the ledger lists must be in output ∪ staging. Run it before any "nothing to
    /// do" result.
    ///
    /// - Parameters:
    ///   - ledger: the keys the ledger says are done.
    ///   - output: the keys present in the output.
    ///   - staging: the keys present in staging, if any.
    ///   - hint: the recovery command to print (e.g. the repair command for this output).
    /// - Returns: the reconciliation, when nothing is missing.
    /// - Throws: ``DurableIOError/Code/accountingMismatch`` naming expected, actual, missing and sample keys.
    @discardableResult
    public static func checkRestart(
        ledger: RecordKeySet, output: KeyCensus, staging: KeyCensus? = nil, hint: String? = nil
    ) throws(DurableIOError) -> Reconciliation {
        let result = reconcile(
            ledger: ledger, presentIn: [output.keys] + (staging.map { [$0.keys] } ?? []),
            duplicateCount: output.duplicateCount + (staging?.duplicateCount ?? 0))
        guard result.missingCount == 0 else {
            throw missingKeysError(
                result, operation: "restart check", path: output.report.path,
                hint: "Nothing was changed. " + (hint ?? "Remove the missing keys from the ledger and run again to re-create them."))
        }
        return result
    }

    /// `ledger lists 152,265 keys but output and staging hold 59,812: 92,453 missing (first: clip_000017, …)`.
    static func missingKeysError(_ result: Reconciliation, operation: String, path: FilePath, hint: String) -> DurableIOError {
        let sample = result.sampleMissing.map(\.description).joined(separator: ", ")
        return DurableIOError(
            .accountingMismatch, operation: operation, path: path,
            message:
                "ledger lists \(result.ledgerCount.formatted) keys but output and staging hold \(result.presentCount.formatted): \(result.missingCount.formatted) missing (first: \(sample)\(result.missingCount > result.sampleMissing.count ? ", …" : ""))",
            hint: hint,
            accounting: AccountingFailure(
                expected: result.ledgerCount, actual: result.presentCount, missingCount: result.missingCount,
                sampleMissingKeys: result.sampleMissing, duplicateCount: result.duplicateCount))
    }

    /// End-of-run accounting: the final output holds exactly the rows recovered at start plus the rows completed
    /// in this run, each key once.
    ///
    /// - Throws: ``DurableIOError/Code/accountingMismatch`` with expected and actual counts.
    public static func checkEndOfRun(final: KeyCensus, recoveredRows: Int, completedThisRun: Int) throws(DurableIOError) {
        let expected = recoveredRows + completedThisRun
        guard final.duplicateCount == 0, final.rowCount == expected else {
            throw DurableIOError(
                .accountingMismatch, operation: "end-of-run accounting", path: final.report.path,
                message:
                    "expected \(expected.formatted) rows (\(recoveredRows.formatted) recovered + \(completedThisRun.formatted) completed in this run), the output holds \(final.rowCount.formatted) with \(final.duplicateCount.formatted) duplicate keys",
                hint: "The staging file was kept for forensics; nothing was deleted.",
                accounting: AccountingFailure(
                    expected: expected, actual: final.rowCount, missingCount: max(0, expected - final.keys.count),
                    sampleMissingKeys: [], duplicateCount: final.duplicateCount))
        }
    }

    /// The `k` smallest keys, in byte order (readable, deterministic samples).
    static func smallest(_ keys: [RecordKey], _ k: Int) -> [RecordKey] {
        var best: [RecordKey] = []
        for key in keys {
            if best.count < k {
                best.append(key)
                best.sort()
            } else if key < best[k - 1] {
                best[k - 1] = key
                best.sort()
            }
        }
        return best
    }
}

/// The result of comparing a ledger's keys with the keys present.
///
/// ```swift
/// let r = RowAccounting.reconcile(ledger: ["a", "b", "c"], present: ["a", "b"])
/// print(r.missingCount, r.sampleMissing)   // 1 ["c"]
/// ```
public struct Reconciliation: Sendable, Equatable {
    /// Keys the ledger lists.
    public var ledgerCount: Int
    /// Distinct keys present in output ∪ staging.
    public var presentCount: Int
    /// Ledger keys not present.
    public var missingCount: Int
    /// The first missing keys in byte order.
    public var sampleMissing: [RecordKey]
    /// Rows whose key appeared before.
    public var duplicateCount: Int
    /// Keys present but not in the ledger (durable rows whose key did not reach the ledger: add them).
    public var unexpectedCount: Int
    /// The first of those in byte order.
    public var sampleUnexpected: [RecordKey]

    /// No key is missing.
    public var isConsistent: Bool { missingCount == 0 }
}

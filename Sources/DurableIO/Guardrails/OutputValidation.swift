/// Checks that an output holds enough rows before anyone trusts it, failing with expected against actual.
///
/// ```swift
/// try OutputValidation.requireAtLeast(150_000, rows: census.rowCount)
/// try OutputValidation.requireFraction(0.99, of: inputs.count, rows: census.rowCount)
/// try OutputValidation.requirePerGroup(minimum: 100, counts: rowsPerSplit, groups: ["train", "val", "test"])
/// ```
public enum OutputValidation {
    /// At least `minimum` rows.
    public static func requireAtLeast(_ minimum: Int, rows actual: Int) throws(DurableIOError) {
        guard actual >= minimum else {
            throw failure("expected at least \(minimum.formatted) rows, the output has \(actual.formatted) (\((minimum - actual).formatted) short)")
        }
    }

    /// At least `fraction` (0…1) of `expected` rows.
    public static func requireFraction(_ fraction: Double, of expected: Int, rows actual: Int) throws(DurableIOError) {
        let needed = Int((Double(expected) * fraction).rounded(.up))
        guard actual >= needed else {
            let got = expected > 0 ? Double(actual) / Double(expected) * 100 : 0
            throw failure(
                "expected at least \(String(format: "%g", fraction * 100)) % of \(expected.formatted) rows (\(needed.formatted)), the output has \(actual.formatted) (\(String(format: "%.1f", got)) %)")
        }
    }

    /// At least `minimum` rows in every group of `groups` (a group absent from `counts` has 0).
    public static func requirePerGroup(minimum: Int, counts: [String: Int], groups: [String]) throws(DurableIOError) {
        let short = groups.filter { (counts[$0] ?? 0) < minimum }
        guard short.isEmpty else {
            let list = short.prefix(5).map { "\($0): \((counts[$0] ?? 0).formatted)" }.joined(separator: ", ")
            throw failure(
                "expected at least \(minimum.formatted) rows in each of \(groups.count) groups; \(short.count) fall short (\(list)\(short.count > 5 ? ", …" : ""))")
        }
    }

    private static func failure(_ message: String) -> DurableIOError {
        DurableIOError(
            .validationFailed, operation: "output validation", message: message,
            hint: "Do not use this output downstream. Check the failures file and rerun to fill the gaps.")
    }
}

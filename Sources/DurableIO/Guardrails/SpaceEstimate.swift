/// How much more disk a run will use before it is done: the bytes each item took so far × the items still pending,
/// plus any one-off cost still ahead (durable-extract's finalize writes a new copy of the whole output beside the
/// old one before the rename), against the free space when it was measured.
///
/// ```swift
/// let estimate = SpaceEstimate(bytesSoFar: 1_200_000, itemsSoFar: 10_000, pendingItems: 140_000, oneOffBytes: 18_000_000, freeBytes: 9_000_000_000)
/// print(estimate!)   // about 34.8 MB more (120 B per item × 140,000 pending, and 18.0 MB to finalize); 9.00 GB free
/// estimate!.fits     // true
/// ```
public struct SpaceEstimate: Sendable, Codable, Equatable, CustomStringConvertible {
    /// Bytes per item so far (the run's files over the items they hold).
    public var bytesPerItem: Double
    /// Items still to do.
    public var pendingItems: Int
    /// A one-off cost still ahead, in bytes (0 for none).
    public var oneOffBytes: Int64
    /// Free bytes on the file system, when known.
    public var freeBytes: Int64?

    /// An estimate; `nil` until an item is done (nothing to scale from).
    public init?(bytesSoFar: Int64, itemsSoFar: Int, pendingItems: Int, oneOffBytes: Int64 = 0, freeBytes: Int64? = nil) {
        guard itemsSoFar > 0 else { return nil }
        bytesPerItem = Double(max(0, bytesSoFar)) / Double(itemsSoFar)
        self.pendingItems = max(0, pendingItems)
        self.oneOffBytes = max(0, oneOffBytes)
        self.freeBytes = freeBytes
    }

    /// The bytes still needed: per item × pending, plus the one-off cost.
    public var neededBytes: Int64 { Int64((bytesPerItem * Double(pendingItems)).rounded(.up)) + oneOffBytes }

    /// Whether the needed bytes fit in the free space (`true` when the free space is unknown).
    public var fits: Bool { freeBytes.map { neededBytes <= $0 } ?? true }

    public var description: String {
        var text = "about \(Self.format(Double(neededBytes))) more (\(Self.format(bytesPerItem)) per item × \(pendingItems.formatted) pending"
        if oneOffBytes > 0 { text += ", and \(Self.format(Double(oneOffBytes))) to finalize" }
        text += ")"
        if let freeBytes { text += "; \(Self.format(Double(freeBytes))) free" + (fits ? "" : " — not enough") }
        return text
    }

    /// `4.31 GB`, `812.4 MB`, `3.2 kB`, `123 B`.
    static func format(_ bytes: Double) -> String {
        if bytes >= 1e9 { return String(format: "%.2f GB", bytes / 1e9) }
        if bytes >= 1e6 { return String(format: "%.1f MB", bytes / 1e6) }
        if bytes >= 1e3 { return String(format: "%.1f kB", bytes / 1e3) }
        return String(format: "%.0f B", bytes)
    }
}

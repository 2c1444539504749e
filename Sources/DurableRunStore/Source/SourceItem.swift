/// One item of an ingested source, as the database holds it.
///
/// ```swift
/// for item in try await store.remainingItems(forRun: id, selection: .missingOnly) {
///     print(item.key, item.json)   // "17" {"incident_id":"17","text":"…"}
/// }
/// ```
public struct SourceItem: Sendable, Equatable {
    /// The database's id of the item (what results refer to).
    public var id: Int64
    /// The item's id as the user knows it: the id column's value, or a JSON array of the values for a composite id.
    public var key: String
    /// Its position in the source file (0-based); work is done in this order.
    public var position: Int
    /// The item as a JSON object with sorted keys (what the per-item command reads on standard input).
    public var json: String

    /// Creates an item.
    public init(id: Int64, key: String, position: Int, json: String) {
        self.id = id
        self.key = key
        self.position = position
        self.json = json
    }
}

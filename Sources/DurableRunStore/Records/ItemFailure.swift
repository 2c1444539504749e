/// Why an item failed: a message (at most 2,000 characters are stored) and a short category.
///
/// Throw it from an item processor to choose the category; any other error is recorded with category `error`.
///
/// ```swift
/// throw ItemFailure(message: "exit status 2: quota exceeded", category: "command")
/// ```
public struct ItemFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// A short class: `command`, `timeout`, `invalid-output`, `error`.
    public var category: String
    /// Whether another attempt within the run may succeed (an item command that exited 75, `EX_TEMPFAIL`, or timed
    /// out): the runner's `RetryPolicy` retries only these.
    public var isTransient: Bool

    /// A failure.
    public init(message: String, category: String, isTransient: Bool = false) {
        self.message = String(message.prefix(2000))
        self.category = category
        self.isTransient = isTransient
    }

    public var description: String { message }
}

extension Duration {
    /// The duration in seconds, as a `Double` (shared by the package's targets; not public API).
    ///
    /// ```swift
    /// Thread.sleep(forTimeInterval: pause.seconds)
    /// ```
    package var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

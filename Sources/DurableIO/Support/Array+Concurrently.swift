import Foundation

extension Array where Element: Sendable {
    /// The elements that satisfy `isIncluded`, in order, tested on all cores: the array is cut into one piece per
    /// core and the pieces' results joined. For the large arrays of a run's setup (a million inputs against the
    /// ledger); a small array is tested on the calling thread.
    ///
    /// ```swift
    /// let pending = inputs.filteredConcurrently { !done.contains($0) }
    /// ```
    package func filteredConcurrently(_ isIncluded: @Sendable (Element) -> Bool) -> [Element] {
        let pieceCount = count < 65_536 ? 1 : recoveryParallelism
        guard pieceCount > 1 else { return filter(isIncluded) }
        var pieces = [[Element]](repeating: [], count: pieceCount)
        withoutActuallyEscaping(isIncluded) { isIncluded in
            pieces.withUnsafeMutableBufferPointer { out in
                let out = UnsafeSendable(out)
                let elements = UnsafeSendable(self)
                DispatchQueue.concurrentPerform(iterations: pieceCount) { k in
                    let all = elements.value
                    out.value[k] = all[all.count * k / pieceCount..<all.count * (k + 1) / pieceCount].filter(isIncluded)
                }
            }
        }
        return Array(pieces.joined())
    }
}

/// Carries a value the caller has made safe to share across threads, such as the buffers of one
/// `DispatchQueue.concurrentPerform` whose lanes each touch only their own element.
///
/// Unchecked: the compiler takes the caller's word. Use it only where every thread touches a disjoint part of the
/// value, or where the value is not touched again until the threads are done.
///
/// ```swift
/// let lanes = UnsafeSendable(laneBuffer)
/// DispatchQueue.concurrentPerform(iterations: laneBuffer.count) { k in lanes.value[k] = work(k) }
/// ```
package struct UnsafeSendable<T>: @unchecked Sendable {
    package var value: T
    package init(_ value: T) { self.value = value }
}

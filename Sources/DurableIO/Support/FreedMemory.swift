#if canImport(Glibc)
import Glibc
#endif

/// Hands the memory a phase freed back to the system, where the C library keeps it otherwise.
///
/// A run's start and its finalize parse a million keys on every core, and each thread's allocations come from its
/// own `malloc` arena: what one phase frees on the parsing threads stays resident, unused by the next phase's
/// allocations on other threads, and the process's peak is the sum of the phases instead of the largest. glibc's
/// `malloc_trim(0)` releases the free pages of every arena (a few milliseconds for hundreds of megabytes); elsewhere
/// this does nothing.
///
/// ```swift
/// staged = RecordKeySet()         // the write's tables, let go
/// FreedMemory.release()           // before the census builds its own
/// ```
package enum FreedMemory {
    /// glibc's `malloc_trim`, looked up once (it is not in the Swift module of the C library; absent on other
    /// C libraries).
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// Returns the free pages of every `malloc` arena to the system.
    package static func release() {
        _ = trim?(0)
    }
}

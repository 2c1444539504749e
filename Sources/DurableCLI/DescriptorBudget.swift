#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many item commands can run at once within the process's descriptor limit (`ulimit -n`).
///
/// Each running item holds descriptors of its own — its pipes (both ends until it is spawned) and the process
/// monitor's — beside the run's files. Past the limit, pipes and monitors fail with `EMFILE` at random moments; a
/// CLI asked for more jobs than the limit holds runs as many as fit and says so, instead.
///
/// ```swift
/// let budget = DescriptorBudget.jobs(requested: 250)
/// if let note = budget.note { print(note) }   // --jobs 250 needs about 2,064 descriptors; …
/// ```
public enum DescriptorBudget {
    /// Descriptors one running item command may hold.
    public static let perItem = 8
    /// Descriptors kept for the run itself (ledgers, staging, the lock, the database, standard streams).
    public static let reserved = 64

    /// `requested`, or fewer when the soft `RLIMIT_NOFILE` cannot hold that many item commands at once, with the
    /// note that says why (`nil` when nothing changed).
    public static func jobs(requested: Int) -> (jobs: Int, note: String?) {
        var limit = rlimit()
        #if canImport(Glibc)
        let status = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        let status = getrlimit(RLIMIT_NOFILE, &limit)
        #endif
        guard status == 0, limit.rlim_cur < rlim_t(Int32.max) else { return (requested, nil) }  // unlimited, or near it
        let available = Int(clamping: limit.rlim_cur)
        let needed = reserved + perItem * requested
        guard needed > available else { return (requested, nil) }
        let fitting = max(1, (available - reserved) / perItem)
        return (fitting, "--jobs \(requested) needs about \(needed) descriptors but the limit is \(available) (ulimit -n): running \(fitting) at a time; raise the limit for more")
    }
}

// snippet.of Sources/DurableIO/DurableIO.docc/Guarantees.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum GuaranteesExample {
// snippet.show

func record(_ key: RecordKey, in done: KeyLedger) throws {
    do {
        try done.insert(key)                       // durable when it returns
    } catch let error as DurableIOError where error.code == .syncFailed || error.code == .ledgerPoisoned {
        // Not known to be durable. Do not retry the sync; stop, check the disk, reopen later.
        print(error.detailedDescription)
        throw error
    }
}
// snippet.hide
}

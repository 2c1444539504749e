import DurableRunStore

extension DurableSQLiteError: UnacknowledgedWriteError {
    /// An `ioFailed` error: a read, write or sync of the database failed, so what it carried is not acknowledged and
    /// the runner writes nothing again.
    public var isUnacknowledgedWrite: Bool { code == .ioFailed }
}

import DurableIO
import SystemPackage

extension CheckpointedRun {
    /// The disk this extraction still needs: the bytes per row of its output and staging so far × `pendingItems`,
    /// plus the new copy of the whole output that finalize writes beside the old one before the rename — against
    /// the free space on the output's file system. `nil` before any row exists.
    ///
    /// ```swift
    /// if let estimate = run.spaceEstimate(rowsSoFar: 10_000, pendingItems: 140_000), !estimate.fits { print(estimate) }
    /// ```
    public func spaceEstimate(rowsSoFar: Int, pendingItems: Int) -> SpaceEstimate? {
        let bytes = [output, stagingPath].reduce(Int64(0)) { sum, path in
            sum + ((try? fileSystem.stat(path, followSymlinks: true).size) ?? 0)
        }
        guard var estimate = SpaceEstimate(
            bytesSoFar: bytes, itemsSoFar: rowsSoFar, pendingItems: pendingItems,
            freeBytes: try? fileSystem.availableSpace(at: outputDirectory))
        else { return nil }
        estimate.oneOffBytes = bytes + estimate.neededBytes  // the finalized output: every row, written anew
        return estimate
    }
}

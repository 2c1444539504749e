#!/usr/bin/env bash
# Uncontended acquire + release of LockFile and FileLock at two revisions of the core, in one release executable,
# interleaved (old, new, old, new) in rounds: the before/after figures of Documentation/Locks.md ("Cost").
#   Scripts/compare-locks.sh [OLD] [NEW] [DIR]    default: d12dd6e (before issue 19) and HEAD, DIR on the disk to test
# The two copies of Sources/DurableIO become two modules of a scratch package (swift-system and swift-log only), so
# the figures compare the lock code alone, built the same way.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
old=${1:-d12dd6e} new=${2:-HEAD} run_dir=${3:-$repo/.build-locks/run}
work="$repo/.build-locks/package"
rm -rf "$work/Sources"; mkdir -p "$work/Sources/OldLocks" "$work/Sources/NewLocks" "$work/Sources/lockbench" "$run_dir"
git -C "$repo" archive "$old" Sources/DurableIO | tar -x -C "$work/Sources/OldLocks" --strip-components=2
git -C "$repo" archive "$new" Sources/DurableIO | tar -x -C "$work/Sources/NewLocks" --strip-components=2
rm -rf "$work"/Sources/*/DurableIO.docc
cat > "$work/Package.swift" <<'EOF'
// swift-tools-version:6.1
import PackageDescription
let system = Target.Dependency.product(name: "SystemPackage", package: "swift-system")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let package = Package(
    name: "lockbench",
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "OldLocks", dependencies: [system, logging]),
        .target(name: "NewLocks", dependencies: [system, logging]),
        .executableTarget(name: "lockbench", dependencies: ["OldLocks", "NewLocks", system]),
    ]
)
EOF
cat > "$work/Sources/lockbench/main.swift" <<'EOF'
import Foundation
import NewLocks
import OldLocks
import SystemPackage

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
let dir = FilePath(CommandLine.arguments[1])
let rounds = 7, count = 200
/// Seconds per acquire + release over `count` of them on one lock.
func measure(_ acquire: () throws -> Bool, _ release: () throws -> Void) throws -> Double {
    let start = now()
    for _ in 0..<count {
        guard try acquire() else { fatalError("another process holds \(dir): no figure") }
        try release()
    }
    return (now() - start) / Double(count)
}
var figures: [String: [Double]] = [:]
for round in 0..<rounds {
    let path = { (name: String) in dir.appending("\(name)-\(round).lock") }
    let oldFile = OldLocks.LockFile(at: path("old-lockfile")), newFile = NewLocks.LockFile(at: path("new-lockfile"))
    let oldFlock = OldLocks.FileLock(at: path("old-filelock")), newFlock = NewLocks.FileLock(at: path("new-filelock"))
    figures["old LockFile", default: []].append(try measure(oldFile.tryAcquire, oldFile.release))
    figures["new LockFile", default: []].append(try measure(newFile.tryAcquire, newFile.release))
    figures["old FileLock", default: []].append(try measure(oldFlock.tryAcquire, oldFlock.release))
    figures["new FileLock", default: []].append(try measure(newFlock.tryAcquire, newFlock.release))
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func micros(_ values: [Double]) -> String { values.map { String(format: "%.0f", $0 * 1e6) }.joined(separator: " ") }
for kind in ["LockFile", "FileLock"] {
    let old = figures["old \(kind)"]!, new = figures["new \(kind)"]!
    print(String(format: "%@ acquire + release: old %.1f µs, new %.1f µs, new/old %.2f× (medians of %d rounds × %d; old: %@; new: %@)",
                 kind, median(old) * 1e6, median(new) * 1e6, median(new) / median(old), rounds, count, micros(old), micros(new)))
}
EOF
(cd "$work" && swift build -c release >/dev/null)
echo "old: $(git -C "$repo" rev-parse --short "$old"), new: $(git -C "$repo" rev-parse --short "$new"), in $run_dir; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/.build/release/lockbench" "$run_dir"

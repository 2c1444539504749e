// swift-tools-version:6.2
import Foundation
import PackageDescription

let package = Package(
    name: "DurableIO",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "DurableIO", targets: ["DurableIO"]),
        .library(name: "DurableIOTesting", targets: ["DurableIOTesting"]),
        .library(name: "DurableRun", targets: ["DurableRun"]),
        .library(name: "DurableRunStore", targets: ["DurableRunStore"]),
        .library(name: "DurableSQLite", targets: ["DurableSQLite"]),
        .library(name: "DurablePostgres", targets: ["DurablePostgres"]),
        .library(name: "DurableStores", targets: ["DurableStores"]),
        .library(name: "DurableCLI", targets: ["DurableCLI"]),
        .executable(name: "durable-extract", targets: ["durable-extract"]),
        .executable(name: "durable-resume", targets: ["durable-resume"]),
        .executable(name: "durable-backfill", targets: ["durable-backfill"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.1.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // DocC for every library product (`swift package generate-documentation`, run by .ci/run); a plugin only.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Core
        .target(
            name: "DurableIO",
            dependencies: [
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Test support (a library product users import to test their own code)
        .target(
            name: "DurableIOTesting",
            dependencies: [
                "DurableIO",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),

        // Runs: the checkpointed extraction
        .target(
            name: "DurableRun",
            dependencies: [
                "DurableIO",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Run stores: the store-neutral run layer (store protocols, records, source ingest rules, the runner for a
        // locked store and the worker for a claiming store); no database
        .target(
            name: "DurableRunStore",
            dependencies: [
                "DurableIO",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // SQLite: the embedded run store and the backfill engine
        .target(
            name: "DurableSQLite",
            dependencies: [
                "DurableIO", "DurableRunStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),

        // PostgreSQL: the same run store on a server, for many workers on many hosts claiming items with leases
        .target(
            name: "DurablePostgres",
            dependencies: [
                "DurableIO", "DurableRunStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The pool's own error (a tripped circuit breaker) and NIO's connect errors, to say what failed.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Stores: opening a run store from a location (an SQLite file or a postgres:// URL) and running it with the
        // runner that store takes — the one place that knows both stores
        .target(
            name: "DurableStores",
            dependencies: [
                "DurableIO", "DurableRunStore", "DurableSQLite", "DurablePostgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Shared CLI support: progress renderer, exit codes, signal handling, --json output, the --on-exit hook,
        // the --metrics-file (swift-metrics with swift-prometheus: the CLIs only, never the core)
        .target(
            name: "DurableCLI",
            dependencies: [
                "DurableIO", "DurableRun", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // Executables: parse, call a library, print. Each links DurableCLIStartup (C): before the Swift runtime
        // starts, it makes a crash's backtrace non-interactive unless SWIFT_BACKTRACE says otherwise.
        .target(name: "DurableCLIStartup"),
        .executableTarget(
            name: "durable-extract",
            dependencies: [
                "DurableIO", "DurableRun", "DurableCLI", "DurableCLIStartup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(
            name: "durable-resume",
            dependencies: [
                "DurableIO", "DurableRunStore", "DurableStores", "DurableSQLite", "DurablePostgres", "DurableRun", "DurableCLI",
                "DurableCLIStartup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "durable-backfill",
            dependencies: [
                "DurableSQLite", "DurableCLI", "DurableIO", "DurableCLIStartup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Examples: built with the package (as swift-argument-parser builds its Examples/), so CI runs the example
        // without building its dependencies a second time. Its own Package.swift is for a user who copies the folder.
        .executableTarget(
            name: "CheckpointedExtraction",
            dependencies: ["DurableIO", "DurableRun", "DurableCLI"],
            path: "Examples/CheckpointedExtraction/Sources/CheckpointedExtraction"
        ),

        // Every Swift block of README.md, Documentation/ and the DocC articles as a file that compiles (hidden lines
        // declare what a block leaves out); DocumentationSnippetTests checks each block is its file's shown lines.
        .target(
            name: "DocumentationSnippets",
            dependencies: ["DurableIO", "DurableIOTesting", "DurableRun", "DurableRunStore", "DurableSQLite"],
            path: "Examples/DocumentationSnippets"
        ),

        // Benchmarks
        .executableTarget(
            name: "durable-benchmark",
            dependencies: [
                "DurableIO", "DurableIOTesting", "DurableRunStore", "DurableSQLite", "DurablePostgres", "DurableRun",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Tests
        .executableTarget(
            name: "durable-test-helper",
            dependencies: ["DurableIO", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/durable-test-helper"
        ),
        .testTarget(
            name: "DurableIOTests",
            dependencies: [
                "DurableIO", "DurableIOTesting", "DurableRun", "DurableCLI",
                "DurableRunStore", "DurableSQLite", "DurablePostgres", "DurableStores",
                "durable-test-helper", "durable-extract", "durable-resume", "durable-backfill",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// DURABLEIO_CORE_TESTS_ONLY=1: the core, its test support and its tests alone, for CI's AddressSanitizer run
// (`swift test --sanitize=address --scratch-path .build-asan`): the sanitizer then rebuilds swift-system and
// swift-log, not GRDB, PostgresNIO, swift-crypto and the rest the whole test target links (minutes saved). The
// same package, so the tests keep their `package` access; the same files, so there is one copy of each test.
if ProcessInfo.processInfo.environment["DURABLEIO_CORE_TESTS_ONLY"] != nil {
    let core: Set<String> = ["DurableIO", "DurableIOTesting", "durable-test-helper"]
    // The core's test files; every other file of the test folder is excluded (so SwiftPM has no unhandled file).
    let coreTestFiles = [
        "AtomicFileTests.swift", "ChildProcess.swift", "CrashHarnessTests.swift", "DirectoryListingTests.swift",
        "FastPathFuzzTests.swift", "KeyTests.swift", "LedgerTests.swift", "LockFileReclaimRaceTests.swift",
        "LockFileSeamTests.swift", "LockTests.swift", "OwnThreads.swift", "StagingAndAccountingTests.swift",
        "ReusableThreadsTests.swift", "Support.swift", "SyscallErrorTests.swift", "TestSlots.swift",
    ]
    let testFolder = Context.packageDirectory + "/Tests/DurableIOTests"
    let coreExcluded = ((try? FileManager.default.contentsOfDirectory(atPath: testFolder)) ?? []).filter { !coreTestFiles.contains($0) }
    package.products = package.products.filter { $0.name == "DurableIO" || $0.name == "DurableIOTesting" }
    package.targets = package.targets.filter { core.contains($0.name) }
    package.targets.append(
        .testTarget(
            name: "DurableIOTests",
            dependencies: [
                "DurableIO", "DurableIOTesting", "durable-test-helper",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            exclude: coreExcluded,
            sources: coreTestFiles
        ))
}

for target in package.targets where target.name != "DurableCLIStartup" {  // Swift settings; that one is C
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}

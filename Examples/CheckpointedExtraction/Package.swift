// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "CheckpointedExtraction",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "DurableIO", path: "../..")],
    targets: [
        .executableTarget(
            name: "CheckpointedExtraction",
            dependencies: [
                .product(name: "DurableIO", package: "DurableIO"), .product(name: "DurableRun", package: "DurableIO"),
                .product(name: "DurableCLI", package: "DurableIO"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Docket",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Docket", targets: ["Docket"]),
        .library(name: "DocketTesting", targets: ["DocketTesting"]),
        .executable(name: "docket-demo", targets: ["DocketDemo"]),
        .executable(name: "docket-crash-worker", targets: ["DocketCrashWorker"]),
    ],
    targets: [
        .target(name: "Docket"),
        .target(name: "DocketTesting", dependencies: ["Docket"]),
        .executableTarget(name: "DocketDemo", dependencies: ["Docket"]),
        .executableTarget(name: "DocketCrashWorker", dependencies: ["Docket"]),
        .testTarget(name: "DocketTests", dependencies: ["Docket", "DocketTesting"]),
    ],
    swiftLanguageModes: [.v6]
)

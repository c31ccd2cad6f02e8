// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DocketBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so the root package is found whatever its clone folder is called.
        .package(name: "Docket", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The workloads, run against Docket and against the baselines, shared by both runners.
        .target(
            name: "Workloads",
            dependencies: ["MallocStats", .product(name: "Docket", package: "Docket"), .product(name: "DocketTesting", package: "Docket")]
        ),
        // Heap statistics from the C library, for the memory workload.
        .target(name: "MallocStats"),
        // `swift run -c release compare`: one process, every workload, Docket against each baseline, as ratios.
        .executableTarget(name: "Compare", dependencies: ["Workloads"]),
        // `swift package benchmark`: package-benchmark's tables (wall time percentiles, throughput, mallocs, memory).
        .executableTarget(
            name: "DocketBenchmarks",
            dependencies: ["Workloads", .product(name: "Benchmark", package: "package-benchmark")],
            path: "Benchmarks/DocketBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DocketServer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "docket-server", targets: ["DocketServer"]),
    ],
    dependencies: [
        // Named, so the root package is found whatever its clone folder is called.
        .package(name: "Docket", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The application: routes, access, operations. A library so the tests can drive it.
        .target(
            name: "DocketServerApp",
            dependencies: [
                .product(name: "Docket", package: "Docket"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // `swift run docket-server`: the application on a port.
        .executableTarget(name: "DocketServer", dependencies: ["DocketServerApp"]),
        .testTarget(
            name: "DocketServerTests",
            dependencies: [
                "DocketServerApp",
                .product(name: "DocketTesting", package: "Docket"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

import DocketServerApp
import Foundation

/// `docket-server [--host 127.0.0.1] [--port 8080] [--port-file FILE] [--journal DIR]`: the
/// example server; with `--journal`, operations persist in a file journal across restarts.
/// With `--port 0` the system picks a free port; it is printed, and written to the port
/// file when one is given (for scripts that start the server).
var configuration = ServerConfiguration()
var portFile: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--host": configuration.host = arguments.popFirst() ?? configuration.host
    case "--port": configuration.port = arguments.popFirst().flatMap(Int.init) ?? configuration.port
    case "--port-file": portFile = arguments.popFirst()
    case "--journal": configuration.journal = arguments.popFirst()
    default:
        FileHandle.standardError.write(Data("unknown argument \(argument); usage: docket-server [--host H] [--port P] [--port-file F] [--journal DIR]\n".utf8))
        exit(2)
    }
}
let host = configuration.host
let file = portFile
let app = try await makeApplication(configuration) { port in
    FileHandle.standardOutput.write(Data("docket-server listening on http://\(host):\(port)\n".utf8))
    if let file { try? "\(port)\n".write(toFile: file, atomically: true, encoding: .utf8) }
}
try await app.runService()

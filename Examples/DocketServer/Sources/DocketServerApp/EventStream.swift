import Docket
import Foundation
import Hummingbird

/// An operation's events as Server-Sent Events: a snapshot first, then state changes,
/// progress and details; the stream ends at the terminal state.
enum EventStream {
    static func response(_ events: AsyncStream<OperationEvent>) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for await event in events {
                    try await writer.write(ByteBuffer(string: frame(event)))
                }
                try await writer.finish(nil)
            })
    }

    static func frame(_ event: OperationEvent) -> String {
        let (name, data): (String, String)
        switch event {
        case .snapshot(let status):
            name = "snapshot"
            data = #"{"state":"\#(status.state)","progress":\#(status.progress)}"#
        case .state(let state):
            name = "state"
            data = #"{"state":"\#(state)"}"#
        case .progress(let percent):
            name = "progress"
            data = #"{"progress":\#(percent)}"#
        case .detail(let entry):
            name = "detail"
            let message = (try? String(decoding: JSONEncoder().encode(entry.message), as: UTF8.self)) ?? "\"\""
            data = #"{"message":\#(message)}"#
        }
        return "event: \(name)\ndata: \(data)\n\n"
    }
}

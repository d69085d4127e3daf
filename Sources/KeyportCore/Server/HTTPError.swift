import NIOHTTP1

/// A request that cannot be answered with success; turned into `{"error": ..., "status": N}` in one place.
public struct HTTPError: Error, Sendable, Equatable {
    public var status: HTTPResponseStatus
    public var message: String
    /// Extra response headers, e.g. `Allow` on a 405.
    public var headers: HTTPHeaders = [:]

    public init(_ status: HTTPResponseStatus, _ message: String, headers: HTTPHeaders = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public static func == (lhs: HTTPError, rhs: HTTPError) -> Bool {
        lhs.status == rhs.status && lhs.message == rhs.message
    }

    /// The JSON error response.
    public var response: Response {
        var json = JSONWriter()
        json.beginObject()
        json.key("error"); json.string(message)
        json.key("status"); json.integer(Int(status.code))
        json.endObject()
        var response = Response.json(status, json.bytes)
        response.headers.add(contentsOf: headers)
        return response
    }
}

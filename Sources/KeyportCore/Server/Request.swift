import KeyportPorts
import NIOCore
import NIOHTTP1

/// One complete HTTP request as the router sees it: no channel, so handlers are testable without a socket.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The path without the query string, not percent-decoded.
    public var path: Substring
    /// The raw query string after `?`, empty when there is none.
    public var query: Substring
    public var headers: HTTPHeaders
    public var body: ByteBuffer?

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.method = method
        let target = Substring(uri)
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = target[..<mark]
            query = target[target.utf8.index(after: mark)...]
        } else {
            path = target
            query = ""
        }
        self.headers = headers
        self.body = body
    }

    /// The query parameters in order, percent-decoded (`+` is a space). `nil` when the encoding is broken.
    public func queryItems() -> [(name: String, value: String)]? {
        var items: [(String, String)] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.percentDecode(parts[0]),
                let value = Self.percentDecode(parts.count > 1 ? parts[1] : "")
            else { return nil }
            items.append((name, value))
        }
        return items
    }

    /// Decodes `%XX` escapes and `+`; `nil` for a bad escape or bytes that are not UTF-8.
    public static func percentDecode(_ text: Substring) -> String? {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(ASCIIHex.value), let low = iterator.next().flatMap(ASCIIHex.value)
                else { return nil }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

import NIOCore
import NIOHTTP1

extension Response {
    /// How a response is framed on the wire, decided by the request it answers and the connection.
    struct Framing {
        var version: HTTPVersion
        /// `false` adds `Connection: close`; the connection closes once the response is written.
        var keepAlive: Bool
        /// `HEAD` answers with the length of the body it does not send.
        var omitsBody: Bool
        /// A response to `CONNECT` has neither body nor length and ends with the connection: framing by close
        /// reads the same to every client and proxy, whether or not it took the answer for a tunnel.
        var omitsLength: Bool
    }

    /// `.buffer` bodies up to this size are copied behind the head (one write); bigger ones are written as
    /// they are. `.bytes` and `.random` bodies always go behind the head.
    static let inlineBodyLimit = 16 * 1024

    /// `false` for 1xx, 204 and 304: they never carry a body nor a `Content-Length`.
    var statusAllowsBody: Bool {
        status.code >= 200 && status.code != 204 && status.code != 304
    }

    /// Appends the status line, the headers and, when small enough, the body to `buffer`; returns `true`
    /// when the body (a big `.buffer`) still has to be written after it.
    func serialize(into buffer: inout ByteBuffer, framing: Framing) -> Bool {
        buffer.writeStaticString(framing.version.minor == 0 && framing.version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        Self.writeDecimal(Int(status.code), into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        if let headerLines {
            buffer.writeImmutableBuffer(headerLines)
        } else {
            Self.writeHeaderLines(headers, into: &buffer)
        }
        let hasBody = statusAllowsBody && !framing.omitsLength
        let length = body.count
        if hasBody {
            buffer.writeStaticString("Content-Length: ")
            Self.writeDecimal(length, into: &buffer)
            buffer.writeStaticString("\r\n")
        }
        if !framing.keepAlive {
            buffer.writeStaticString("Connection: close\r\n")
        } else if framing.version.minor == 0 {
            buffer.writeStaticString("Connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        guard hasBody, !framing.omitsBody, length > 0 else { return false }
        switch body {
        case .buffer(let bytes):
            guard length <= Self.inlineBodyLimit else { return true }
            buffer.writeImmutableBuffer(bytes)
        case .bytes(let bytes):
            buffer.writeBytes(bytes)
        case .random(let count):
            buffer.writeRandomBytes(count: count)
        }
        return false
    }

    /// `Name: value\r\n` for each field, in order.
    static func writeHeaderLines(_ headers: HTTPHeaders, into buffer: inout ByteBuffer) {
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Writes a non-negative integer in decimal without making a `String`.
    static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { pointer in
            var number = value
            for index in stride(from: digits - 1, through: 0, by: -1) {
                pointer[index] = UInt8(ascii: "0") + UInt8(number % 10)
                number /= 10
            }
            return digits
        }
    }
}

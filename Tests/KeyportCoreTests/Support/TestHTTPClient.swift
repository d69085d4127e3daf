import Foundation
import Testing

import SystemLibC

/// A deliberately small blocking HTTP/1.1 client over a POSIX socket, so tests can send exactly the
/// bytes they want (odd methods, HEAD, broken requests) and read exactly what came back.
struct TestHTTPClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        }
    }

    enum ClientError: Error { case connect(Int32), closed, malformed(String) }

    let port: Int
    private(set) var fd: Int32 = -1

    /// Connects to `address` (IPv4 `127.0.0.1` by default, or an IPv6 literal such as `::1`).
    init(port: Int, address: String = "127.0.0.1") throws {
        self.port = port
        let ipv6 = address.contains(":")
        fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result: Int32
        if ipv6 {
            var address6 = sockaddr_in6()
            address6.sin6_family = sa_family_t(AF_INET6)
            address6.sin6_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET6, address, &address6.sin6_addr)
            result = withUnsafePointer(to: &address6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address4 = sockaddr_in()
            address4.sin_family = sa_family_t(AF_INET)
            address4.sin_port = in_port_t(UInt16(port).bigEndian)
            address4.sin_addr.s_addr = inet_addr(address)
            result = withUnsafePointer(to: &address4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard result == 0 else {
            let error = errno
            SystemLibC.close(fd)
            throw ClientError.connect(error)
        }
    }

    func close() { SystemLibC.close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { SystemLibC.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends one request and reads one response on this connection.
    func request(
        _ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8]? = nil
    ) throws -> Response {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        send(Array(text.utf8) + (body ?? []))
        return try readResponse(headRequest: method == "HEAD")
    }

    private var pending = Pending()
    final class Pending { var bytes: [UInt8] = [] }

    func readResponse(headRequest: Bool = false) throws -> Response {
        func fill() throws {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw ClientError.closed }
            pending.bytes += chunk[..<count]
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let range = pending.bytes.firstRange(of: separator) { headEnd = range.upperBound } else { try fill() }
        }
        let head = String(decoding: pending.bytes[..<headEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError.malformed(head) }
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headRequest ? 0 : Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
        while pending.bytes.count < headEnd! + length { try fill() }
        let body = Array(pending.bytes[headEnd!..<(headEnd! + length)])
        pending.bytes.removeFirst(headEnd! + length)
        return Response(status: status, headers: headers, body: body)
    }

    /// One request on a fresh connection.
    static func fetch(
        port: Int, _ method: String = "GET", _ target: String, headers: [String: String] = [:], body: [UInt8]? = nil
    ) throws -> Response {
        let client = try TestHTTPClient(port: port)
        defer { client.close() }
        return try client.request(method, target, headers: headers, body: body)
    }
}

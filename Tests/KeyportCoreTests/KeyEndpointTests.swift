import Foundation
@testable import KeyportCore
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

/// `KeyEndpoint.reply` as the router calls it; keys up to 1 KiB are answered at once, on the event loop.
func replyNow(_ endpoint: KeyEndpoint, _ request: Request, length: Substring) throws(HTTPError) -> Response {
    let context = RouteContext(parameter: length, eventLoop: EmbeddedEventLoop())
    switch try endpoint.reply(request, length: length, context: context, threadPool: .singleton) {
    case .now(let response): return response
    case .later: preconditionFailure("a key of at most 1 KiB is answered on the event loop")
    }
}

@Suite struct KeyEndpointTests {
    let endpoint = KeyEndpoint(maxSize: 1024, metrics: nil)

    func get(_ uri: String) throws(HTTPError) -> Response {
        let request = Request(method: .GET, uri: uri)
        let length = request.path.dropFirst("/key/".count)
        return try replyNow(endpoint, request, length: length)
    }

    @Test(arguments: [1, 2, 31, 32, 33, 512, 1023, 1024])
    func rawKeysHaveExactlyTheRequestedLength(length: Int) throws {
        let response = try get("/key/\(length)")
        #expect(response.status == .ok)
        #expect(response.body.count == length)
        #expect(response.headers["Content-Type"] == ["application/octet-stream"])
        #expect(response.headers["Cache-Control"] == ["no-store"])
    }

    @Test func keysDifferFromCallToCall() throws {
        let keys = try (0..<50).map { _ in try get("/key/32").body.buffer }
        #expect(Set(keys.map { Array($0.readableBytesView) }).count == 50)
    }

    @Test func bytesLookUniform() throws {
        // 64 KiB of output: every byte value should appear, none wildly often (mean 256 each).
        var counts = [Int](repeating: 0, count: 256)
        for _ in 0..<64 {
            for byte in try get("/key/1024").body.buffer.readableBytesView { counts[Int(byte)] += 1 }
        }
        #expect(counts.min()! > 150)
        #expect(counts.max()! < 380)
    }

    @Test func hexEncodesTheBytes() throws {
        let response = try get("/key/16?encoding=hex")
        let text = String(buffer: response.body.buffer)
        #expect(text.count == 32)
        #expect(text.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(response.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
    }

    @Test(arguments: [1, 2, 3, 4, 100, 1024])
    func base64DecodesToTheRequestedLength(length: Int) throws {
        let text = String(buffer: try get("/key/\(length)?encoding=base64").body.buffer)
        let decoded = try #require(Data(base64Encoded: text))
        #expect(decoded.count == length)
    }

    @Test func base64MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (input, expected) in vectors {
            #expect(String(decoding: KeyEncoding.base64(Array(input.utf8)), as: UTF8.self) == expected)
        }
        #expect(String(decoding: KeyEncoding.hex([0x00, 0x0f, 0xa5, 0xff]), as: UTF8.self) == "000fa5ff")
    }

    @Test(arguments: ["0", "1025", "-1", "abc", "1.5", "0x10", "+5", " 5", "99999999999999999999", "１２"])
    func badLengthsAre400WithTheRange(length: String) throws {
        let error = try #require(throws: HTTPError.self) { try get("/key/" + length) }
        #expect(error.status == .badRequest)
        #expect(error.message.contains("1...1024"))
    }

    @Test(arguments: ["encoding=base32", "encoding=", "encoding=raw", "format=hex", "encoding=%zz"])
    func badQueriesAre400(query: String) throws {
        let error = try #require(throws: HTTPError.self) { try get("/key/8?" + query) }
        #expect(error.status == .badRequest)
    }

    @Test func theMaximumFollowsTheConfiguration() throws {
        let small = KeyEndpoint(maxSize: 10, metrics: nil)
        let request = Request(method: .GET, uri: "/key/11")
        let error = try #require(throws: HTTPError.self) { try replyNow(small, request, length: "11") }
        #expect(error.message.contains("1...10"))
        #expect(try replyNow(small, request, length: "10").body.count == 10)
    }
}

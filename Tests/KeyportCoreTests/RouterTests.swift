@testable import KeyportCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct RouterTests {
    let loop = EmbeddedEventLoop()

    func router() -> Router {
        var router = Router()
        router.get("/health") { _, _ in .now(.text(.ok, "health")) }
        router.get("/key/{length}") { _, context in .now(.text(.ok, "key " + context.parameter)) }
        router.post("/debug/fault") { _, _ in .now(.noContent) }
        return router
    }

    func run(_ method: HTTPMethod, _ uri: String) throws -> (Router.Match, Response?) {
        let match = router().match(Request(method: method, uri: uri))
        guard let handler = match.handler else { return (match, nil) }
        guard case .now(let response) = try handler(Request(method: method, uri: uri), RouteContext(parameter: match.parameter, eventLoop: loop)) else {
            Issue.record("expected an immediate reply")
            return (match, nil)
        }
        return (match, response)
    }

    @Test func exactAndParameterisedRoutesMatch() throws {
        let (health, healthResponse) = try run(.GET, "/health")
        #expect(health.template == "/health")
        #expect(healthResponse?.body.buffer == ByteBuffer(string: "health"))
        let (key, keyResponse) = try run(.GET, "/key/32?encoding=hex")
        #expect(key.template == "/key/{length}")
        #expect(key.parameter == "32")
        #expect(keyResponse?.body.buffer == ByteBuffer(string: "key 32"))
    }

    @Test func parametersAreTheBytesAfterThePrefix() throws {
        // A combining mark right after the prefix must not swallow the prefix's last "/".
        let match = router().match(Request(method: .GET, uri: "/key/\u{301}5"))
        #expect(match.template == "/key/{length}")
        #expect(Array(match.parameter.utf8) == Array("\u{301}5".utf8))
        #expect(router().match(Request(method: .GET, uri: "/kéy/5")).template == Router.unmatchedRoute)
    }

    @Test func headIsServedByTheGetHandler() throws {
        let (match, response) = try run(.HEAD, "/health")
        #expect(match.template == "/health")
        #expect(response?.status == .ok)
    }

    @Test(arguments: ["/nope", "/key", "/key/", "/key/1/2", "/healthz", "/health/", ""])
    func unknownPathsAre404WithTheUnmatchedLabel(path: String) throws {
        let match = router().match(Request(method: .GET, uri: path))
        #expect(match.handler == nil)
        #expect(match.template == Router.unmatchedRoute)
        #expect(match.error?.status == .notFound)
    }

    @Test func wrongMethodsAre405WithAllow() throws {
        let onGet = router().match(Request(method: .DELETE, uri: "/key/5"))
        #expect(onGet.template == "/key/{length}")
        #expect(onGet.error?.status == .methodNotAllowed)
        #expect(onGet.error?.headers["Allow"] == ["GET, HEAD"])
        let onPost = router().match(Request(method: .GET, uri: "/debug/fault"))
        #expect(onPost.error?.headers["Allow"] == ["POST"])
        let custom = router().match(Request(method: .RAW(value: "BREW"), uri: "/health"))
        #expect(custom.error?.status == .methodNotAllowed)
        let trace = router().match(Request(method: .TRACE, uri: "/health"))
        #expect(trace.error?.status == .methodNotAllowed)
    }

    @Test func queryStringsAreSplitAndDecoded() throws {
        let request = Request(method: .GET, uri: "/ports?country=United%20Kingdom&limit=5&x=a+b&flag")
        #expect(request.path == "/ports")
        let items = try #require(request.queryItems())
        #expect(items.map(\.name) == ["country", "limit", "x", "flag"])
        #expect(items.map(\.value) == ["United Kingdom", "5", "a b", ""])
        #expect(Request(method: .GET, uri: "/p?x=%zz").queryItems() == nil)
        #expect(Request(method: .GET, uri: "/p?x=%ff").queryItems() == nil)
        #expect(Request(method: .GET, uri: "/p?x=%C3%A9").queryItems()?.first?.value == "é")
    }

    @Test func errorsBecomeJSONWithStatus() throws {
        let response = HTTPError(.badRequest, "bad \"thing\"\n").response
        #expect(response.status == .badRequest)
        #expect(response.headers["Content-Type"] == ["application/json"])
        #expect(String(buffer: response.body.buffer) == #"{"error":"bad \"thing\"\n","status":400}"#)
    }
}

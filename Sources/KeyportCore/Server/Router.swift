import NIOCore
import NIOHTTP1

/// What a handler gives back: a response now, or later when the work ran off the event loop.
public enum Reply: Sendable {
    case now(Response)
    case later(EventLoopFuture<Response>)
}

/// What a handler may use besides the request: the matched path parameter and the request's event loop.
public struct RouteContext: Sendable {
    /// The text matched by the template's `{…}` segment, e.g. `32` for `/key/{length}`.
    public var parameter: Substring
    public var eventLoop: any EventLoop
}

/// A route handler: a plain function from a request to a reply; errors become JSON error responses.
public typealias RouteHandler = @Sendable (Request, RouteContext) throws(HTTPError) -> Reply

/// A method + path template → handler table. Templates are exact (`/health`) or end in one
/// parameter segment (`/key/{length}`). `GET` routes answer `HEAD` too.
public struct Router: Sendable {
    /// The metric label for paths no route matches.
    public static let unmatchedRoute = "unmatched"

    struct Route: Sendable {
        var template: String
        /// For a parameterised template, the part before `{`; for an exact one, the whole path.
        var prefix: String
        var hasParameter: Bool
        var handlers: [MethodHandler]
    }

    /// A struct, not a tuple: a closure kept in an array of tuples is stored at generic abstraction, and
    /// taking it out made a reabstraction thunk (an allocation per request).
    struct MethodHandler: Sendable {
        var method: HTTPMethod
        var handler: RouteHandler
    }

    private(set) var routes: [Route] = []

    public init() {}

    /// Adds `handler` for `method` on `template`.
    public mutating func on(_ method: HTTPMethod, _ template: String, _ handler: @escaping RouteHandler) {
        if let index = routes.firstIndex(where: { $0.template == template }) {
            routes[index].handlers.append(MethodHandler(method: method, handler: handler))
            return
        }
        let hasParameter = template.hasSuffix("}")
        let prefix = hasParameter ? String(template[..<template.firstIndex(of: "{")!]) : template
        routes.append(Route(template: template, prefix: prefix, hasParameter: hasParameter, handlers: [MethodHandler(method: method, handler: handler)]))
    }

    public mutating func get(_ template: String, _ handler: @escaping RouteHandler) { on(.GET, template, handler) }
    public mutating func post(_ template: String, _ handler: @escaping RouteHandler) { on(.POST, template, handler) }

    /// The result of routing one request: the template for metrics and what to run.
    public struct Match {
        public var template: String
        /// The route's position in the table (the table's size when none matched): a cheap metrics key.
        public var routeIndex: Int
        public var parameter: Substring
        /// `nil` when the path matched no route or the method is not allowed; see `error`.
        public var handler: RouteHandler?
        public var error: HTTPError?
    }

    public func match(_ request: Request) -> Match {
        for (index, route) in routes.enumerated() {
            let parameter: Substring
            if route.hasParameter {
                // Byte comparisons: routing wants exact paths, not Unicode-equivalent ones, and they are cheaper.
                guard request.path.utf8.starts(with: route.prefix.utf8) else { continue }
                parameter = request.path[request.path.utf8.index(request.path.startIndex, offsetBy: route.prefix.utf8.count)...]
                guard !parameter.isEmpty, !parameter.utf8.contains(UInt8(ascii: "/")) else { continue }
            } else {
                guard request.path.utf8.elementsEqual(route.prefix.utf8) else { continue }
                parameter = ""
            }
            let method = request.method == .HEAD ? HTTPMethod.GET : request.method
            if let handler = route.handlers.first(where: { $0.method == method })?.handler {
                return Match(template: route.template, routeIndex: index, parameter: parameter, handler: handler)
            }
            var allowed = route.handlers.map(\.method.rawValue)
            if allowed.contains("GET") { allowed.append("HEAD") }
            let allow = allowed.joined(separator: ", ")
            return Match(
                template: route.template, routeIndex: index, parameter: parameter,
                error: HTTPError(
                    .methodNotAllowed, "method \(request.method.rawValue) not allowed on \(route.template); allowed: \(allow)",
                    headers: ["Allow": allow]))
        }
        return Match(
            template: Self.unmatchedRoute, routeIndex: routes.count, parameter: "",
            error: HTTPError(.notFound, "no route for \(request.path)"))
    }
}

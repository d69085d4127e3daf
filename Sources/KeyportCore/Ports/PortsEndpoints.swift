import KeyportPorts
import NIOCore

/// `GET /ports` (paged listing) and `GET /ports/{id}`.
public struct PortsEndpoints: Sendable {
    public static let defaultLimit = 100
    public static let maxLimit = 1000

    let served: ServedSnapshot

    public init(served: ServedSnapshot) {
        self.served = served
    }

    /// `?limit=1...1000&after=CURSOR&country=NAME` → `{"ports":[...],"next":"ID"|null}`.
    public func list(_ request: Request) throws(HTTPError) -> Response {
        guard let items = request.queryItems() else {
            throw HTTPError(.badRequest, "malformed query string")
        }
        var limit = Self.defaultLimit
        var after: String?
        var country: String?
        for (name, value) in items {
            switch name {
            case "limit":
                guard let number = Int(value), (1...Self.maxLimit).contains(number) else {
                    throw HTTPError(.badRequest, "invalid limit \"\(value)\": expected an integer in 1...\(Self.maxLimit)")
                }
                limit = number
            case "after":
                guard !value.isEmpty else {
                    throw HTTPError(.badRequest, "empty after: expected the \"next\" cursor of a previous page")
                }
                after = value
            case "country":
                guard !value.isEmpty else {
                    throw HTTPError(.badRequest, "empty country: expected a country name such as \"United Arab Emirates\"")
                }
                country = value
            default:
                throw HTTPError(.badRequest, "unknown query parameter \"\(name)\": expected limit, after or country")
            }
        }
        let page = served.snapshot.page(after: after, limit: limit, country: country)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 * page.count + 32)
        PortsJSON.appendPage(page, into: &bytes)
        return .json(.ok, bytes)
    }

    /// One record by its id or by any id in a record's `unlocs`.
    public func record(_ request: Request, id raw: Substring) throws(HTTPError) -> Response {
        guard let id = Request.percentDecode(raw) else {
            throw HTTPError(.badRequest, "malformed port id in path")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        guard served.snapshot.appendJSON(ofID: id, into: &bytes) else {
            throw HTTPError(.notFound, "port \"\(id.prefix(64))\" not found")
        }
        return .json(.ok, bytes)
    }
}

/// One port as served: every field exactly as the file holds it (strings byte-for-byte, numbers as their text).
public struct PortRecord: Sendable, Equatable, Hashable {
    /// The record's key in the file (a UN/LOCODE such as `AEAJM`).
    public var id: String
    public var name: String
    public var city: String
    public var country: String
    public var alias: [String]
    public var regions: [String]
    /// `[lon, lat]` as the JSON number text of the file (`"55.5136433"`, `"111"`); nil when the file has none.
    public var coordinates: [String]?
    public var province: String?
    public var timezone: String?
    public var unlocs: [String]
    public var code: String?

    public init(
        id: String,
        name: String,
        city: String,
        country: String,
        alias: [String] = [],
        regions: [String] = [],
        coordinates: [String]? = nil,
        province: String? = nil,
        timezone: String? = nil,
        unlocs: [String] = [],
        code: String? = nil
    ) {
        self.id = id
        self.name = name
        self.city = city
        self.country = country
        self.alias = alias
        self.regions = regions
        self.coordinates = coordinates
        self.province = province
        self.timezone = timezone
        self.unlocs = unlocs
        self.code = code
    }
}

/// One listening socket of the server: where it binds and which route table it answers.
public struct Listener: Sendable {
    /// The service listener answers the API behind the public Service; the admin listener answers operators.
    public enum Role: String, Sendable {
        case service, admin

        /// The flag that sets this listener's port, named when it cannot be bound.
        public var portFlag: String { self == .service ? "--srv-port" : "--admin-port" }
    }

    public var role: Role
    public var host: String
    public var port: Int
    public var router: Router

    public init(role: Role, host: String, port: Int, router: Router) {
        self.role = role
        self.host = host
        self.port = port
        self.router = router
    }
}

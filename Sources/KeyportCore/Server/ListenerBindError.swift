/// A listener's port could not be bound (in use, not permitted, no such address): one line naming the flag.
public struct ListenerBindError: Error, CustomStringConvertible {
    public var role: Listener.Role
    public var host: String
    public var port: Int
    public var reason: String

    public var description: String {
        let flag = role.portFlag
        return "cannot listen on \(host) port \(port) for \(flag) (env \(Configuration.environmentName(of: flag))): \(reason)"
    }
}

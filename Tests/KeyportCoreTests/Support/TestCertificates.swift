import Foundation

/// A throwaway CA and certificates made by the real `openssl` in a temporary directory, for one test.
struct TestCertificates {
    let directory: String

    struct OpenSSLFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// `ca.crt`, `leaf.crt`/`leaf.key` (127.0.0.1, localhost), `expired.crt` (same key, notAfter yesterday),
    /// `other.key` (matches nothing) and `garbage.pem`.
    init() throws {
        directory = NSTemporaryDirectory() + "keyport-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.shell(
            """
            set -e
            cd '\(directory)'
            ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
            openssl req -x509 $ec -keyout ca.key -out ca.crt -subj /CN=keyport-test-ca -days 2
            openssl req $ec -keyout leaf.key -out leaf.csr -subj /CN=localhost
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
            openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out leaf.crt
            openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days -1 -extfile san.ext -out expired.crt
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key
            printf 'not a certificate\\n' > garbage.pem
            """)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// `openssl x509 -serial` of a certificate, without the `serial=` prefix.
    func serial(_ name: String) throws -> String {
        try Self.shell("openssl x509 -noout -serial -in '\(path(name))'")
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    static func shell(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OpenSSLFailed(description: String(decoding: errorData, as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }
}

import Foundation
@testable import KeyportCore
import Testing

@Suite struct TLSMaterialTests {
    static var now: Int { Int(Date().timeIntervalSince1970) }

    @Test func aGoodPairLoadsWithItsSerialAndNotAfter() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let material = try TLSMaterial.load(
            TLSFiles(certificate: certificates.path("leaf.crt"), key: certificates.path("leaf.key")), now: Self.now)
        #expect(material.serial == (try certificates.serial("leaf.crt")))
        // `-days 2`: notAfter is two days from now, give or take the seconds the test took.
        #expect(abs(material.notAfter - (Self.now + 2 * 86400)) < 120)
        let withClientCA = try TLSMaterial.load(
            TLSFiles(
                certificate: certificates.path("leaf.crt"), key: certificates.path("leaf.key"),
                clientCA: certificates.path("ca.crt")), now: Self.now)
        #expect(withClientCA.serial == material.serial)
    }

    @Test func badFilesAreRefusedNamingTheFlag() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let leaf = certificates.path("leaf.crt")
        let key = certificates.path("leaf.key")
        let cases: [(TLSFiles, String, String)] = [
            (TLSFiles(certificate: leaf, key: certificates.path("other.key")), "--tls-key-file", "does not match"),
            (TLSFiles(certificate: certificates.path("expired.crt"), key: key), "--tls-cert-file", "expired"),
            (TLSFiles(certificate: certificates.path("garbage.pem"), key: key), "--tls-cert-file", "no PEM certificate"),
            (TLSFiles(certificate: leaf, key: certificates.path("garbage.pem")), "--tls-key-file", "no PEM private key"),
            (TLSFiles(certificate: certificates.path("nope.crt"), key: key), "--tls-cert-file", "does not exist"),
            (TLSFiles(certificate: leaf, key: certificates.path("nope.key")), "--tls-key-file", "does not exist"),
            (
                TLSFiles(certificate: leaf, key: key, clientCA: certificates.path("garbage.pem")), "--tls-client-ca-file",
                "no PEM certificate"
            ),
        ]
        for (files, flag, problem) in cases {
            let error = try #require(throws: TLSLoadError.self, "\(files)") { try TLSMaterial.load(files, now: Self.now) }
            #expect(error.flag == flag, "\(files)")
            #expect(error.problem.contains(problem), "\(error)")
            #expect(error.description.hasPrefix("\(flag) \""), "\(error)")
            #expect(!error.description.contains("\n"), "one line: \(error)")
        }
    }

    @Test func flagsNeedEachOther() throws {
        let flags = ["--tls-cert-file", "/c.pem"]
        let alone = try #require(throws: ConfigurationError.self) { try Configuration(arguments: flags, environment: [:]) }
        #expect(alone.flag == "--tls-cert-file")
        let both = try Configuration(arguments: flags, environment: ["KEYPORT_TLS_KEY_FILE": "/k.pem"])
        #expect(both.tls == TLSFiles(certificate: "/c.pem", key: "/k.pem"))
        let error = try #require(throws: ConfigurationError.self) {
            try Configuration(arguments: [], environment: ["KEYPORT_TLS_CLIENT_CA_FILE": "/ca.pem"])
        }
        #expect(error.flag == "--tls-client-ca-file")
        #expect(try Configuration(arguments: [], environment: [:]).tls == nil)
    }

    @Test func theHealthCheckSpeaksHTTPS() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let files = TLSFiles(certificate: certificates.path("leaf.crt"), key: certificates.path("leaf.key"))
        let material = try TLSMaterial.load(files, now: Self.now)
        try await TestServer.with({ $0.tls = files }, tls: material) { server in
            let url = "https://127.0.0.1:\(server.port)/health"
            let status = try await HealthCheck.run(
                url: url, timeout: .seconds(5), tls: .init(caFile: certificates.path("ca.crt")))
            #expect(status == 200)
            #expect(try await HealthCheck.run(url: url, timeout: .seconds(5), tls: .init(insecure: true)) == 200)
            // The system roots do not know the test CA.
            await #expect(throws: HealthCheck.Failure.self) {
                try await HealthCheck.run(url: url, timeout: .seconds(5))
            }
            // Plain HTTP to the TLS port gets no HTTP answer.
            await #expect(throws: HealthCheck.Failure.self) {
                try await HealthCheck.run(url: "http://127.0.0.1:\(server.port)/health", timeout: .seconds(5))
            }
        }
    }
}

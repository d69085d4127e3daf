@testable import KeyportCore
import Testing

@Suite struct TracingConfigurationTests {
    func configuration(_ arguments: [String], environment: [String: String] = [:]) throws -> Configuration {
        try Configuration(arguments: arguments, environment: environment)
    }

    func error(_ arguments: [String], environment: [String: String] = [:]) -> ConfigurationError? {
        do {
            _ = try configuration(arguments, environment: environment)
            return nil
        } catch let error as ConfigurationError {
            return error
        } catch {
            return nil
        }
    }

    @Test func offWithoutAnEndpoint() throws {
        #expect(try configuration([]).tracing == nil)
        #expect(try configuration(["--trace-sample-ratio", "0.5"]).tracing == nil)
        #expect(try configuration([], environment: ["OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER_ARG": "0.1"]).tracing == nil)
    }

    @Test func theFlagIsABaseURLWithTheTracesPathAppended() throws {
        let tracing = try #require(try configuration(["--otlp-endpoint", "http://127.0.0.1:4318", "--trace-sample-ratio", "0.01"]).tracing)
        #expect(tracing.tracesEndpoint == "http://127.0.0.1:4318/v1/traces")
        #expect(tracing.sampleRatio == 0.01)
        let slash = try #require(try configuration(["--otlp-endpoint", "https://collector.example:4318/"]).tracing)
        #expect(slash.tracesEndpoint == "https://collector.example:4318/v1/traces")
        #expect(slash.sampleRatio == nil)
    }

    @Test func keyportEnvironmentTwinsAndFlagsWin() throws {
        let environment = ["KEYPORT_OTLP_ENDPOINT": "http://env:4318", "KEYPORT_TRACE_SAMPLE_RATIO": "0"]
        let fromEnvironment = try #require(try configuration([], environment: environment).tracing)
        #expect(fromEnvironment.tracesEndpoint == "http://env:4318/v1/traces")
        #expect(fromEnvironment.sampleRatio == 0)
        let fromFlags = try #require(try configuration(["--otlp-endpoint", "http://flag:4318", "--trace-sample-ratio", "1"], environment: environment).tracing)
        #expect(fromFlags.tracesEndpoint == "http://flag:4318/v1/traces")
        #expect(fromFlags.sampleRatio == 1)
    }

    @Test func standardVariablesTurnItOnAndSwiftOTelReadsThem() throws {
        for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            let tracing = try #require(try configuration([], environment: [name: "http://127.0.0.1:4318"]).tracing)
            #expect(tracing.tracesEndpoint == nil)
        }
        #expect(try configuration([], environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"]).tracing == nil)
        #expect(try configuration(["--otlp-endpoint", "http://c:4318"], environment: ["OTEL_TRACES_EXPORTER": "none"]).tracing == nil)
    }

    @Test(arguments: ["", "127.0.0.1:4318", "ftp://c:21", "http://", "http:// c:4318", "collector"])
    func aBadEndpointNamesTheFlag(endpoint: String) {
        let error = self.error(["--otlp-endpoint", endpoint])
        #expect(error?.flag == "--otlp-endpoint")
        #expect(error?.description == "invalid value \"\(endpoint)\" for --otlp-endpoint (env KEYPORT_OTLP_ENDPOINT): expected an http:// or https:// URL such as http://127.0.0.1:4318")
    }

    @Test(arguments: ["-0.1", "1.01", "2", "nan", "inf", "half"])
    func aRatioOutsideZeroToOneNamesTheFlag(ratio: String) {
        // `=` form, as a user must write it: the executable's ArgumentParser takes a separate "-0.1" for a flag.
        #expect(error(["--otlp-endpoint", "http://c:4318", "--trace-sample-ratio=\(ratio)"])?.flag == "--trace-sample-ratio")
        #expect(error([], environment: ["KEYPORT_TRACE_SAMPLE_RATIO": ratio])?.flag == "--trace-sample-ratio")
    }

    @Test func anEmptyRatioVariableIsRefusedButAnEmptyEndpointVariableIsUnset() throws {
        #expect(error([], environment: ["KEYPORT_TRACE_SAMPLE_RATIO": ""])?.flag == "--trace-sample-ratio")
        #expect(try configuration([], environment: ["KEYPORT_OTLP_ENDPOINT": ""]).tracing == nil)
    }

    @Test func badStandardVariablesNameTheVariable() {
        let cases: [(String, String)] = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://c:4317"),
            ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ]
        for (name, value) in cases {
            let error = self.error([], environment: [name: value])
            #expect(error?.flag == name)
            #expect(error?.description.hasPrefix("invalid value \"\(value)\" for \(name): expected ") == true)
        }
    }

    @Test func goodStandardSamplerValuesPass() throws {
        let tracing = try configuration([], environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        ]).tracing
        #expect(tracing != nil)
    }
}

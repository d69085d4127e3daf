extension Duration {
    /// Parses `1500ms`, `5s`, `2m`, `1h` and concatenations like `1m30s`; a bare `0` is zero.
    public static func parse(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        var total = Duration.zero
        var digits = ""
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while let first = rest.first {
            if first.isASCII, first.isNumber {
                digits.append(first)
                rest = rest.dropFirst()
                continue
            }
            guard let amount = Int64(digits) else { return nil }
            digits = ""
            let unit: Duration
            if rest.hasPrefix("ms") {
                unit = .milliseconds(1); rest = rest.dropFirst(2)
            } else if rest.hasPrefix("s") {
                unit = .seconds(1); rest = rest.dropFirst()
            } else if rest.hasPrefix("m") {
                unit = .seconds(60); rest = rest.dropFirst()
            } else if rest.hasPrefix("h") {
                unit = .seconds(3600); rest = rest.dropFirst()
            } else {
                return nil
            }
            guard amount <= 1_000_000 else { return nil }
            total += unit * amount
        }
        return digits.isEmpty ? total : nil
    }

    /// Seconds as a floating-point number, for metrics and logs.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

import KeyportCore

/// Messages for the person at the terminal (not logs): one write(2) each, on standard error.
enum FileOutput {
    static func standardError(_ text: String) {
        LogSink.standardError.write(Array(text.utf8))
    }
}

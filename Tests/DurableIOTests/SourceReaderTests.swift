import DurableRunStore
import Foundation
import Testing

/// `SourceReader` on malformed CSV: refused with the line or the column named, never read into wrong items.
@Suite("SourceReader refuses malformed CSV")
struct SourceReaderTests {
    let dir = TemporaryDirectory()

    /// The items read from a CSV file with `text`, or the error's description.
    func read(_ text: String, id: [String] = ["id"]) -> Result<[String: String], any Error> {
        let path = dir.file("source.csv")
        writeRaw(text, to: path)
        return Result {
            var items: [String: String] = [:]
            try SourceReader.read(try SourceFile(path: path.string, idColumns: id)) { key, json in items[key] = json }
            return items
        }
    }

    func message(_ result: Result<[String: String], any Error>) -> String? {
        if case .failure(let error) = result { return "\(error)" }
        return nil
    }

    @Test("An unterminated quote is refused naming the line it opens on, instead of swallowing the rows after it")
    func unterminatedQuote() {
        let result = read("id,text\n1,fine\n2,\"opens here\n3,swallowed\n4,swallowed too\n")
        let text = message(result)
        #expect(text?.contains("line 3") == true, "\(result)")
        #expect(text?.contains("never closed") == true, "\(result)")
        #expect(text?.contains("swallowed") == false, "row contents stay out of the message: \(result)")
    }

    @Test("A quote inside a quoted field that is neither doubled nor closing is refused naming its line")
    func strayQuoteInQuotedField() {
        let result = read("id,text\n1,\"a \"quoted\" word\"\n2,b\n")
        #expect(message(result)?.contains("line 2") == true, "\(result)")
    }

    @Test("Well-formed quoting still reads: doubled quotes, embedded commas and newlines, CRLF, quotes inside unquoted fields")
    func wellFormedQuotingReads() throws {
        let result = read("id,text\r\n1,\"a \"\"b\"\", c\nd\"\r\n2,5\" tall\r\n\"3\",\"\"\r\n")
        let items = try result.get()
        #expect(items.keys.sorted() == ["1", "2", "3"])
        #expect(items["1"] == #"{"id":"1","text":"a \"b\", c\nd"}"#)
        #expect(items["2"] == #"{"id":"2","text":"5\" tall"}"#)
    }

    @Test("A duplicate header column is refused naming the column and its positions")
    func duplicateHeader() {
        let result = read("id,id,text\n1,2,x\n")
        let text = message(result)
        #expect(text?.contains("'id'") == true, "\(result)")
        #expect(text?.contains("columns 1 and 2") == true, "\(result)")
        let other = message(read("id,text,note,text\n1,a,b,c\n"))
        #expect(other?.contains("'text'") == true && other?.contains("columns 2 and 4") == true, "\(other ?? "read")")
    }
}

//! Cutting SQL text into statements at the semicolons that end them: not inside quotes, quoted identifiers,
//! `--` line comments or `/* */` block comments.

/// Where a scan of SQL text stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexical {
    Code,
    SingleQuoted,
    DoubleQuoted,
    LineComment,
    BlockComment,
}

/// Calls `visit(offset, char, quoted)` for every character of `text` outside comments; `quoted` tells
/// whether it is inside a string or quoted identifier (the quotes themselves count as quoted).
fn scan(text: &str, mut visit: impl FnMut(usize, char, bool)) {
    let mut state = Lexical::Code;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        state = match (state, c) {
            (Lexical::Code, '-') if next == Some('-') => {
                chars.next();
                Lexical::LineComment
            }
            (Lexical::Code, '/') if next == Some('*') => {
                chars.next();
                Lexical::BlockComment
            }
            (Lexical::Code, '\'') => {
                visit(at, c, true);
                Lexical::SingleQuoted
            }
            (Lexical::Code, '"') => {
                visit(at, c, true);
                Lexical::DoubleQuoted
            }
            (Lexical::Code, _) => {
                visit(at, c, false);
                Lexical::Code
            }
            (Lexical::SingleQuoted, '\'') | (Lexical::DoubleQuoted, '"') => {
                visit(at, c, true);
                Lexical::Code
            }
            (Lexical::SingleQuoted | Lexical::DoubleQuoted, _) => {
                visit(at, c, true);
                state
            }
            (Lexical::LineComment, '\n') => Lexical::Code,
            (Lexical::BlockComment, '*') if next == Some('/') => {
                chars.next();
                Lexical::Code
            }
            (same, _) => same,
        };
    }
}

/// Splits `text` into the complete statements it holds (each without its `;`, trimmed, empty ones
/// dropped) and the unfinished rest after the last `;`.
pub fn split_statements(text: &str) -> (Vec<String>, String) {
    let mut ends = Vec::new();
    scan(text, |at, c, quoted| {
        if c == ';' && !quoted {
            ends.push(at);
        }
    });
    let mut statements = Vec::new();
    let mut start = 0;
    for end in ends {
        let statement = &text[start..end];
        if !is_blank(statement) {
            statements.push(statement.trim().to_string());
        }
        start = end + 1;
    }
    (statements, text[start..].to_string())
}

/// Whether `text` holds nothing but white space and comments.
pub fn is_blank(text: &str) -> bool {
    let mut blank = true;
    scan(text, |_, c, _| blank &= c.is_whitespace());
    blank
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_end_statements_outside_quotes_and_comments() {
        let (done, rest) = split_statements(
            "SELECT 1; SELECT ';' AS s, \"a;b\" -- not; here\n FROM t /* ; */; SELECT",
        );
        assert_eq!(
            done,
            vec![
                "SELECT 1".to_string(),
                "SELECT ';' AS s, \"a;b\" -- not; here\n FROM t /* ; */".to_string()
            ]
        );
        assert_eq!(rest, " SELECT");
    }

    #[test]
    fn empty_statements_and_comment_only_text_are_dropped() {
        let (done, rest) = split_statements(";;  -- only a comment\n; /* x */ ;");
        assert!(done.is_empty());
        assert_eq!(rest, "");
        assert!(is_blank("  -- c\n /* d */ "));
        assert!(!is_blank(" -- c\n SELECT 1"));
    }

    #[test]
    fn an_unfinished_statement_is_the_rest() {
        let (done, rest) = split_statements("SELECT 'it''s;\n");
        assert!(done.is_empty());
        assert_eq!(rest, "SELECT 'it''s;\n");
    }
}

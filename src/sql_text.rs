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

/// Splits `text` into the complete statements it holds (each without its `;`, trimmed, empty ones
/// dropped) and the unfinished rest after the last `;`.
pub fn split_statements(text: &str) -> (Vec<String>, String) {
    let mut statements = Vec::new();
    let mut state = Lexical::Code;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        state = match (state, c) {
            (Lexical::Code, '\'') => Lexical::SingleQuoted,
            (Lexical::Code, '"') => Lexical::DoubleQuoted,
            (Lexical::Code, '-') if next == Some('-') => {
                chars.next();
                Lexical::LineComment
            }
            (Lexical::Code, '/') if next == Some('*') => {
                chars.next();
                Lexical::BlockComment
            }
            (Lexical::Code, ';') => {
                push_statement(&mut statements, &text[start..at]);
                start = at + 1;
                Lexical::Code
            }
            (Lexical::SingleQuoted, '\'') | (Lexical::DoubleQuoted, '"') => Lexical::Code,
            (Lexical::LineComment, '\n') => Lexical::Code,
            (Lexical::BlockComment, '*') if next == Some('/') => {
                chars.next();
                Lexical::Code
            }
            (same, _) => same,
        };
    }
    (statements, text[start..].to_string())
}

/// Whether `text` holds nothing but white space and comments.
pub fn is_blank(text: &str) -> bool {
    let mut state = Lexical::Code;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        state = match (state, c) {
            (Lexical::Code, '-') if next == Some('-') => {
                chars.next();
                Lexical::LineComment
            }
            (Lexical::Code, '/') if next == Some('*') => {
                chars.next();
                Lexical::BlockComment
            }
            (Lexical::Code, c) if c.is_whitespace() => Lexical::Code,
            (Lexical::Code, _) => return false,
            (Lexical::LineComment, '\n') => Lexical::Code,
            (Lexical::BlockComment, '*') if next == Some('/') => {
                chars.next();
                Lexical::Code
            }
            (same, _) => same,
        };
    }
    true
}

fn push_statement(statements: &mut Vec<String>, text: &str) {
    if !is_blank(text) {
        statements.push(text.trim().to_string());
    }
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

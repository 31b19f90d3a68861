//! A small syntax highlighter for code blocks: keywords, strings, comments and numbers for a
//! dozen common languages. Hand-written on purpose: the well-kept highlighters (syntect,
//! tree-sitter) weigh megabytes of wasm, this is a few KB and needs no lazy loading, so the
//! first paint never waits for it. Every character it emits is escaped.

use crate::markdown::escape;

struct Lang {
    keywords: &'static [&'static str],
    line_comments: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
    quotes: &'static [char],
}

const C_LIKE_COMMENTS: &[&str] = &["//"];

fn lang(name: &str) -> Option<Lang> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "rust" | "rs" => Lang {
            keywords: &[
                "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else",
                "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match",
                "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct",
                "super", "trait", "true", "type", "unsafe", "use", "where", "while", "Some",
                "None", "Ok", "Err",
            ],
            line_comments: C_LIKE_COMMENTS,
            block_comment: Some(("/*", "*/")),
            quotes: &['"'],
        },
        "python" | "py" => Lang {
            keywords: &[
                "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
                "del", "elif", "else", "except", "False", "finally", "for", "from", "global", "if",
                "import", "in", "is", "lambda", "None", "nonlocal", "not", "or", "pass", "raise",
                "return", "True", "try", "while", "with", "yield", "self",
            ],
            line_comments: &["#"],
            block_comment: None,
            quotes: &['"', '\''],
        },
        "js" | "javascript" | "ts" | "typescript" | "jsx" | "tsx" => Lang {
            keywords: &[
                "async",
                "await",
                "break",
                "case",
                "catch",
                "class",
                "const",
                "continue",
                "default",
                "delete",
                "do",
                "else",
                "export",
                "extends",
                "false",
                "finally",
                "for",
                "function",
                "if",
                "import",
                "in",
                "instanceof",
                "interface",
                "let",
                "new",
                "null",
                "return",
                "switch",
                "this",
                "throw",
                "true",
                "try",
                "type",
                "typeof",
                "undefined",
                "var",
                "void",
                "while",
                "yield",
                "from",
                "of",
            ],
            line_comments: C_LIKE_COMMENTS,
            block_comment: Some(("/*", "*/")),
            quotes: &['"', '\'', '`'],
        },
        "go" | "golang" => Lang {
            keywords: &[
                "break",
                "case",
                "chan",
                "const",
                "continue",
                "default",
                "defer",
                "else",
                "fallthrough",
                "for",
                "func",
                "go",
                "goto",
                "if",
                "import",
                "interface",
                "map",
                "package",
                "range",
                "return",
                "select",
                "struct",
                "switch",
                "type",
                "var",
                "nil",
                "true",
                "false",
            ],
            line_comments: C_LIKE_COMMENTS,
            block_comment: Some(("/*", "*/")),
            quotes: &['"', '`'],
        },
        "c" | "h" | "cpp" | "c++" | "cc" | "hpp" | "java" | "kotlin" | "kt" | "cs" | "csharp"
        | "swift" => Lang {
            keywords: &[
                "auto",
                "bool",
                "break",
                "case",
                "catch",
                "char",
                "class",
                "const",
                "continue",
                "default",
                "do",
                "double",
                "else",
                "enum",
                "extends",
                "false",
                "final",
                "float",
                "for",
                "fun",
                "if",
                "implements",
                "import",
                "include",
                "int",
                "interface",
                "long",
                "namespace",
                "new",
                "null",
                "nullptr",
                "package",
                "private",
                "protected",
                "public",
                "return",
                "short",
                "static",
                "struct",
                "switch",
                "template",
                "this",
                "throw",
                "true",
                "try",
                "typedef",
                "unsigned",
                "using",
                "val",
                "var",
                "void",
                "while",
            ],
            line_comments: C_LIKE_COMMENTS,
            block_comment: Some(("/*", "*/")),
            quotes: &['"', '\''],
        },
        "sh" | "bash" | "shell" | "zsh" | "console" => Lang {
            keywords: &[
                "if", "then", "else", "elif", "fi", "for", "in", "do", "done", "while", "case",
                "esac", "function", "return", "export", "local", "echo", "cd", "sudo",
            ],
            line_comments: &["#"],
            block_comment: None,
            quotes: &['"', '\''],
        },
        "json" | "jsonc" => Lang {
            keywords: &["true", "false", "null"],
            line_comments: &[],
            block_comment: None,
            quotes: &['"'],
        },
        "toml" | "yaml" | "yml" | "ini" => Lang {
            keywords: &["true", "false", "null"],
            line_comments: &["#"],
            block_comment: None,
            quotes: &['"', '\''],
        },
        "sql" => Lang {
            keywords: &[
                "select", "from", "where", "insert", "into", "values", "update", "set", "delete",
                "create", "table", "drop", "alter", "join", "left", "right", "inner", "outer",
                "on", "and", "or", "not", "null", "as", "group", "by", "order", "limit", "having",
                "distinct", "primary", "key", "index",
            ],
            line_comments: &["--"],
            block_comment: Some(("/*", "*/")),
            quotes: &['\''],
        },
        _ => return None,
    })
}

fn span(class: &str, text: &str, out: &mut String) {
    out.push_str("<span class=\"tok-");
    out.push_str(class);
    out.push_str("\">");
    escape(text, out);
    out.push_str("</span>");
}

/// Appends `code` as escaped HTML with `<span class="tok-…">` around recognised tokens.
pub fn highlight_into(lang_name: &str, code: &str, out: &mut String) {
    let Some(lang) = lang(lang_name) else {
        escape(code, out);
        return;
    };
    let case_insensitive = lang_name.eq_ignore_ascii_case("sql");
    let b = code.as_bytes();
    let mut i = 0;
    let mut plain_from = 0;
    let flush = |from: usize, to: usize, out: &mut String| {
        if to > from {
            escape(&code[from..to], out);
        }
    };
    while i < b.len() {
        let rest = &code[i..];
        if let Some(lc) = lang.line_comments.iter().find(|p| rest.starts_with(*p)) {
            let _ = lc;
            flush(plain_from, i, out);
            let end = rest.find('\n').map_or(code.len(), |n| i + n);
            span("comment", &code[i..end], out);
            i = end;
            plain_from = i;
            continue;
        }
        if let Some((open, close)) = lang.block_comment {
            if let Some(after) = rest.strip_prefix(open) {
                flush(plain_from, i, out);
                let end = after
                    .find(close)
                    .map_or(code.len(), |n| i + open.len() + n + close.len());
                span("comment", &code[i..end], out);
                i = end;
                plain_from = i;
                continue;
            }
        }
        let c = rest.chars().next().expect("non-empty");
        if lang.quotes.contains(&c) {
            flush(plain_from, i, out);
            let mut j = i + c.len_utf8();
            while j < b.len() {
                let d = code[j..].chars().next().expect("in range");
                if d == '\\' {
                    j += 1;
                    if j < b.len() {
                        j += code[j..].chars().next().map_or(1, char::len_utf8);
                    }
                    continue;
                }
                j += d.len_utf8();
                if d == c || (d == '\n' && c != '`') {
                    break;
                }
            }
            let j = j.min(code.len());
            span("string", &code[i..j], out);
            i = j;
            plain_from = i;
            continue;
        }
        if c.is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            flush(plain_from, i, out);
            let end = rest
                .find(|x: char| !(x.is_ascii_alphanumeric() || x == '.' || x == '_'))
                .map_or(code.len(), |n| i + n);
            span("number", &code[i..end], out);
            i = end;
            plain_from = i;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let end = rest
                .find(|x: char| !(x.is_alphanumeric() || x == '_'))
                .map_or(code.len(), |n| i + n);
            let word = &code[i..end];
            let is_kw = if case_insensitive {
                lang.keywords.iter().any(|k| k.eq_ignore_ascii_case(word))
            } else {
                lang.keywords.contains(&word)
            };
            if is_kw {
                flush(plain_from, i, out);
                span("keyword", word, out);
                plain_from = end;
            }
            i = end;
            continue;
        }
        i += c.len_utf8();
    }
    flush(plain_from, code.len(), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hl(lang: &str, code: &str) -> String {
        let mut s = String::new();
        highlight_into(lang, code, &mut s);
        s
    }

    #[test]
    fn rust_tokens_are_classified() {
        let h = hl(
            "rust",
            "fn main() { let x = 42; // hi\n println!(\"a<b\"); }",
        );
        assert!(h.contains("<span class=\"tok-keyword\">fn</span>"));
        assert!(h.contains("<span class=\"tok-number\">42</span>"));
        assert!(h.contains("<span class=\"tok-comment\">// hi</span>"));
        assert!(h.contains("<span class=\"tok-string\">&quot;a&lt;b&quot;</span>"));
    }

    #[test]
    fn unknown_languages_are_only_escaped() {
        assert_eq!(hl("brainfuck", "<+>"), "&lt;+&gt;");
    }

    #[test]
    fn unterminated_strings_and_comments_do_not_panic() {
        for code in ["\"abc", "/* open", "'x\\", "é\"ü", "\\"] {
            for l in ["rust", "python", "js", "sql", "sh"] {
                let _ = hl(l, code);
            }
        }
    }
}

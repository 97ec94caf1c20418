//! toml's parse errors, with the table they occurred in.
//!
//! toml names the line and column and quotes the line, but for `unknown field` inside a table it
//! does not say which table; with several tables sharing key names that is the missing piece.

/// toml's message for `error` on `text`, its first line extended with `(in table [name])` when
/// the error sits below a table header.
pub(crate) fn describe(text: &str, error: &toml::de::Error) -> String {
    let message = error.to_string();
    let message = message.trim_end();
    let table = error
        .span()
        .and_then(|span| enclosing_table(text.get(..span.start)?));
    match (table, message.split_once('\n')) {
        (Some(table), Some((first, rest))) => format!("{first} (in table [{table}])\n{rest}"),
        (Some(table), None) => format!("{message} (in table [{table}])"),
        (None, _) => message.to_owned(),
    }
}

/// Name of the last `[table]` header in `before`, if any.
fn enclosing_table(before: &str) -> Option<&str> {
    // The error's own line may be a header (e.g. `[exchange]` twice): leave it out, so the
    // answer is always the table that was open when the error happened.
    let complete = &before[..before.rfind('\n').map_or(0, |at| at + 1)];
    complete.lines().rev().find_map(header_name)
}

/// `exchange` for a line `[exchange]` (comments and spaces allowed); `None` for anything else,
/// including lines of a multi-line array, which never consist of a bare name in brackets here.
fn header_name(line: &str) -> Option<&str> {
    let line = line.split('#').next().unwrap_or_default().trim();
    let name = line.strip_prefix('[')?.strip_suffix(']')?.trim();
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
        .trim();
    let is_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    is_name.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let error = toml::from_str::<crate::config::Config>(text).unwrap_err();
        describe(text, &error)
    }

    #[test]
    fn errors_inside_a_table_name_it() {
        let text = "# klagg\n[exchange]\nmarket = \"usdm\"\n\n[threads] # pins\nio_corez = [0]\n";
        let message = error_of(text);
        assert!(
            message.starts_with("TOML parse error at line 6, column 1 (in table [threads])\n"),
            "{message}"
        );
        assert!(message.contains("unknown field `io_corez`"), "{message}");
    }

    #[test]
    fn errors_outside_tables_are_toml_s_own() {
        let message = error_of("bogus = 1\n[exchange]\n");
        assert!(
            message.starts_with("TOML parse error at line 1, column 1\n"),
            "{message}"
        );
        assert!(message.contains("unknown field `bogus`"), "{message}");
    }

    #[test]
    fn headers_are_recognised() {
        assert_eq!(header_name("[exchange]"), Some("exchange"));
        assert_eq!(header_name("  [ threads ]  # comment"), Some("threads"));
        assert_eq!(header_name("[[a.b]]"), Some("a.b"));
        assert_eq!(header_name("[1, 2],"), None);
        assert_eq!(header_name("key = [1]"), None);
    }
}

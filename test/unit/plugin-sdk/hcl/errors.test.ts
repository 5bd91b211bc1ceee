// Table-driven: bad inputs and the exact HclParseError message (line:column first, then what was
// expected and what was found).

import { HclParseError, parseConfigText } from '../../../../plugin-sdk/hcl';

const hclErrors: Array<[string, string, string]> = [
  [
    'value missing at end',
    'a =',
    '1:4: expected a value (string, number, bool, list, object or heredoc) after "=" for key "a", got end of input',
  ],
  ['key without = or {', 'a\n', '2:1: expected "=" or "{" after key "a", got end of input'],
  ['key followed by a value', 'a 1', '1:3: expected "=" or "{" after key "a", got number 1'],
  ['labels with =', 'a "b" = 1', '1:7: expected "{" after block labels of "a" (labelled blocks take no "=")'],
  ['labels without block', 'a "b" 1', '1:7: expected "{" after "a" and its labels, got number 1'],
  ['colon instead of =', 'a: 1', '1:2: unexpected ":" (HCL assigns with "=")'],
  ['number as key', '1 = 2', '1:1: expected a key (identifier or quoted string), got number 1'],
  ['stray closing brace', 'a = 1\n}', '2:1: expected a key (identifier or quoted string), got "}"'],
  ['unclosed block', 'b {\n  x = 1\n', '3:1: expected a key (identifier or quoted string) or "}", got end of input'],
  [
    'unquoted text value',
    'a = hello',
    '1:5: expected a value after "=" for key "a", got identifier "hello" (text values need quotes: "hello")',
  ],
  ['unquoted duration', 't = 10s', '1:5: invalid number "10s" (text values need quotes: "10s")'],
  ['version-like number', 'v = 1.2.3', '1:5: invalid number "1.2.3" (text values need quotes: "1.2.3")'],
  ['bad octal', 'n = 089', '1:5: invalid octal number 089 (a leading 0 means octal)'],
  ['empty hex', 'n = 0x', '1:5: invalid hex number: expected hex digits after "0x"'],
  ['bad exponent', 'n = 1e', '1:6: invalid number: expected digits in the exponent'],
  [
    'integer too large',
    'n = 9007199254740992',
    '1:5: integer 9007199254740992 is out of range (at most 2^53-1 in magnitude)',
  ],
  ['float too large', 'n = 1e999', '1:5: number 1e999 is out of range'],
  ['unterminated string', 'a = "abc\nb = 1', "1:5: unterminated string: expected a closing '\"' on the same line"],
  ['unterminated string at end', 'a = "abc', "1:5: unterminated string: expected a closing '\"' on the same line"],
  [
    'unknown escape',
    'a = "x\\q"',
    '1:7: invalid escape: expected one of \\" \\\\ \\n \\t \\r \\a \\b \\f \\v \\uXXXX \\UXXXXXXXX \\xHH \\NNN after "\\", got "q"',
  ],
  ['short \\u escape', 'a = "\\u12"', '1:6: invalid escape: expected 4 hex digits after "\\u"'],
  ['surrogate \\u escape', 'a = "\\ud800"', '1:6: invalid escape: U+D800 is not a Unicode scalar value'],
  ['too large \\U escape', 'a = "\\U00110000"', '1:6: invalid escape: U+110000 is not a Unicode scalar value'],
  ['non-ASCII byte escape', 'a = "\\xff"', '1:6: invalid escape: byte 0xff is not ASCII (use \\u00XX)'],
  ['bad octal escape', 'a = "\\18"', '1:6: invalid escape: expected 3 octal digits after "\\"'],
  ['list without comma', 'l = [1 2]', '1:8: expected "," or "]" in the list opened at 1:5, got number 2'],
  [
    'unclosed list',
    'l = [1,\n',
    '2:1: expected a value (string, number, bool, list, object or heredoc) in the list opened at 1:5, got end of input',
  ],
  [
    'double comma in list',
    'l = [1,,2]',
    '1:8: expected a value (string, number, bool, list, object or heredoc) in the list opened at 1:5, got ","',
  ],
  ['unclosed object', 'o = {\n a = 1', '2:7: expected a key (identifier or quoted string) or "}", got end of input'],
  ['unterminated block comment', 'a = 1 /* x', '1:7: unterminated /* comment: expected "*/"'],
  ['single slash', 'a = 1 / 2', '1:7: unexpected "/": comments start with "//", "/*" or "#"'],
  ['unexpected character', 'a = @', '1:5: unexpected character "@"'],
  ['heredoc without anchor', 'h = <<\nx\n', '1:5: invalid heredoc: expected an anchor name after "<<" (like <<EOF)'],
  ['heredoc anchor then text', 'h = <<EOF x\nEOF\n', '1:10: invalid heredoc: expected a newline right after "<<EOF"'],
  ['unterminated heredoc', 'h = <<EOF\nline\n', '1:5: unterminated heredoc: expected a line holding only "EOF"'],
  ['duplicate attribute', 'a = 1\na = 2', '2:1: duplicate key "a" (already set at 1:1)'],
  ['attribute then block', 'a = 1\na { }', '2:1: duplicate key "a" (already set at 1:1)'],
  [
    'block then attribute',
    'a { }\na = 1',
    '2:1: key "a" is already a block (at 1:1); expected another block, not a value or labels',
  ],
  [
    'block then labelled block',
    'a { }\na "x" { }',
    '2:1: key "a" is already a block (at 1:1); expected another block, not a value or labels',
  ],
  [
    'labelled then plain block',
    'a "x" { }\na { }',
    '2:1: key "a" is already a labelled block (at 1:1); expected the same form again',
  ],
  ['empty key', '"" = 1', '1:1: expected a non-empty key, got ""'],
  [
    'error position after multibyte text',
    's = "日本😀" x',
    '1:12: expected "=" or "{" after key "x", got end of input',
  ],
  [
    'error on a later line',
    'a = 1\nb = [\n  1,\n  two,\n]',
    '4:3: expected a value in the list opened at 2:5, got identifier "two" (text values need quotes: "two")',
  ],
];

const jsonErrors: Array<[string, string, string]> = [
  ['unclosed', '{"a": 1', '1:8: expected "," or "}" in the object opened at 1:1, got end of input'],
  ['trailing comma', '{"a": 1,}', '1:9: expected a quoted key, got "}"'],
  ['single quotes', "{'a': 1}", '1:2: expected a quoted key, got "\'"'],
  ['missing colon', '{"a" 1}', '1:6: expected ":" after key "a", got "1"'],
  ['null', '{"a": null}', '1:7: expected a value for key "a", got null (leave the key out instead)'],
  ['duplicate key', '{"a": 1,\n "a": 2}', '2:2: duplicate key "a" (already set at 1:2)'],
  ['leading zero', '{"a": 01}', '1:8: expected "," or "}" in the object opened at 1:1, got "1"'],
  ['bare word', '{"a": yes}', '1:7: expected a JSON value for key "a", got "y"'],
  ['trailing data', '{} x', '1:4: expected end of input after the JSON document, got "x"'],
  ['raw newline in string', '{"a": "x\ny"}', '1:9: expected an escape (like \\n) for a control character in a string'],
  [
    'bad escape',
    '{"a": "\\x41"}',
    '1:8: invalid escape: expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, got "\\\\x"',
  ],
  [
    'lone high surrogate',
    '{"a": "\\ud800x"}',
    '1:8: invalid escape: a high surrogate \\uD8xx-\\uDBxx must be followed by a low one',
  ],
  ['lone low surrogate', '{"a": "\\udc00"}', '1:8: invalid escape: lone low surrogate'],
  ['unterminated string', '{"a": "x', "1:7: unterminated string: expected a closing '\"'"],
  ['huge integer', '{"a": 12345678901234567890}', '1:7: number 12345678901234567890 is out of range'],
  ['array in array unclosed', '{"a": [1, [2}', '1:13: expected "," or "]" in the array opened at 1:11, got "}"'],
];

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HclParseError);
    return (err as Error).message;
  }
  throw new Error('expected a parse error');
}

describe('parse errors: HCL', () => {
  it.each(hclErrors)('%s', (_name, text, message) => {
    expect(messageOf(() => parseConfigText(text))).toBe(message);
  });
});

describe('parse errors: JSON', () => {
  it.each(jsonErrors)('%s', (_name, text, message) => {
    expect(messageOf(() => parseConfigText(text))).toBe(message);
  });
});

describe('limits', () => {
  it('refuses input over maxBytes, counting UTF-8 bytes', () => {
    expect(messageOf(() => parseConfigText(`a = "${'é'.repeat(10)}"`, { maxBytes: 20 }))).toBe(
      '1:1: configuration is 26 bytes, expected at most 20',
    );
  });

  it('refuses more than 1 MiB by default', () => {
    expect(messageOf(() => parseConfigText('#'.repeat((1 << 20) + 1)))).toBe(
      '1:1: configuration is 1048577 bytes, expected at most 1048576',
    );
  });

  it('refuses nesting deeper than maxDepth in lists, objects and blocks', () => {
    expect(messageOf(() => parseConfigText('a = [[[1]]]', { maxDepth: 2 }))).toBe(
      '1:7: nesting is deeper than 2 levels',
    );
    expect(messageOf(() => parseConfigText('a { b { c { } } }', { maxDepth: 2 }))).toBe(
      '1:11: nesting is deeper than 2 levels',
    );
    expect(messageOf(() => parseConfigText('a = { b = { c = {} } }', { maxDepth: 2 }))).toBe(
      '1:17: nesting is deeper than 2 levels',
    );
    expect(messageOf(() => parseConfigText('{"a": {"b": {}}}', { maxDepth: 2 }))).toBe(
      '1:13: nesting is deeper than 2 levels',
    );
  });

  it('refuses deep nesting by default without overflowing the stack', () => {
    expect(messageOf(() => parseConfigText(`a = ${'['.repeat(100000)}`))).toBe(
      '1:69: nesting is deeper than 64 levels',
    );
    expect(messageOf(() => parseConfigText('{"a":'.repeat(100000)))).toMatch(
      /^1:\d+: nesting is deeper than 64 levels$/,
    );
  });

  it('reports the line and column in fields too', () => {
    let caught: HclParseError | undefined;
    try {
      parseConfigText('a = 1\n  b = ?');
    } catch (err) {
      caught = err as HclParseError;
    }
    expect(caught).toMatchObject({ line: 2, column: 7, reason: 'unexpected character "?"' });
  });
});

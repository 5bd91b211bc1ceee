// Table-driven: HCL v1 native syntax and JSON inputs and the exact trees they read into.

import { DEFAULT_HCL_LIMITS, HclValue, detectSyntax, parseConfigText } from '../../../../plugin-sdk/hcl';

const hclCases: Array<[string, string, HclValue]> = [
  ['empty text', '', {}],
  ['only whitespace and comments', '  \n# a\n// b\n/* c\n d */\n', {}],
  ['byte-order mark', '\ufeffa = 1', { a: 1 }],
  ['string attribute', 'a = "x"', { a: 'x' }],
  ['several items on one line', 'a = 1 b = 2', { a: 1, b: 2 }],
  ['comma between items', 'a = 1, b = 2', { a: 1, b: 2 }],
  ['CRLF line endings', 'a = 1\r\nb = "y"\r\n', { a: 1, b: 'y' }],
  ['identifier with dash, dot, digit', 'a-b.c_1 = true', { 'a-b.c_1': true }],
  ['unicode identifier', 'größe = 1', { größe: 1 }],
  ['quoted key', '"k k" = 1', { 'k k': 1 }],
  ['quoted key with escape', '"k\\"q" = 1', { 'k"q': 1 }],
  ['__proto__ is an ordinary key', '__proto__ = 1', JSON.parse('{"__proto__": 1}')],
  ['integer', 'n = 42', { n: 42 }],
  ['zero', 'n = 0', { n: 0 }],
  ['negative integer', 'n = -42', { n: -42 }],
  ['minus zero is zero', 'n = -0\nf = -0.0', { n: 0, f: 0 }],
  ['hex', 'n = 0xff', { n: 255 }],
  ['upper hex', 'n = 0XFF', { n: 255 }],
  ['negative hex', 'n = -0x10', { n: -16 }],
  ['octal (leading zero)', 'n = 0644', { n: 420 }],
  ['float', 'n = 1.5', { n: 1.5 }],
  ['negative float', 'n = -0.25', { n: -0.25 }],
  ['exponent', 'n = 1e3', { n: 1000 }],
  ['float exponent with sign', 'n = 2.5E-2', { n: 0.025 }],
  ['largest safe integer', 'n = 9007199254740991', { n: 9007199254740991 }],
  ['true and false', 'a = true\nb = false', { a: true, b: false }],
  ['escapes', String.raw`s = "\" \\ \n \t \r \a \b \f \v"`, { s: '" \\ \n \t \r \x07 \b \f \v' }],
  ['unicode escapes', String.raw`s = "\u00e9\U0001F600"`, { s: 'é😀' }],
  ['hex and octal byte escapes (ASCII)', String.raw`s = "\x41\101"`, { s: 'AA' }],
  ['interpolation kept literally', 's = "${var.x}"', { s: '${var.x}' }],
  ['interpolation with quotes and braces inside', 's = "a ${f("x", {b})} c"', { s: 'a ${f("x", {b})} c' }],
  ['escapes inside an interpolation kept raw', 's = "${a(\\"x\\")}\\n"', { s: '${a(\\"x\\")}\n' }],
  ['lone $ and {', 's = "$ { $x"', { s: '$ { $x' }],
  ['non-ASCII string', 's = "日本 ✓"', { s: '日本 ✓' }],
  ['empty string', 's = ""', { s: '' }],
  ['list', 'l = [1, "two", true]', { l: [1, 'two', true] }],
  ['empty list', 'l = []', { l: [] }],
  ['trailing comma', 'l = [1, 2,]', { l: [1, 2] }],
  ['multiline list with comments', 'l = [\n  1, # one\n  2, // two\n  /* three */ 3,\n]', { l: [1, 2, 3] }],
  ['nested lists', 'l = [[1], [[2]], []]', { l: [[1], [[2]], []] }],
  ['list of objects', 'l = [{ a = 1 }, { b = "x" }]', { l: [{ a: 1 }, { b: 'x' }] }],
  ['list of heredocs', 'l = [<<A\nx\nA\n, "y"]', { l: ['x\n', 'y'] }],
  ['block', 'b {\n  x = 1\n}', { b: { x: 1 } }],
  ['empty block', 'b {}', { b: {} }],
  ['block on one line', 'b { x = 1 y = 2 }', { b: { x: 1, y: 2 } }],
  ['object attribute', 'o = { x = 1, y = [2] }', { o: { x: 1, y: [2] } }],
  ['nested blocks', 'a { b { c { d = 1 } } }', { a: { b: { c: { d: 1 } } } }],
  ['repeated blocks become a list', 'p { n = 1 }\np { n = 2 }\np { n = 3 }', { p: [{ n: 1 }, { n: 2 }, { n: 3 }] }],
  ['repeated object attributes become a list', 'p = { n = 1 }\np = { n = 2 }', { p: [{ n: 1 }, { n: 2 }] }],
  ['labelled block', 'v "kl" { u = "x" }', { v: { kl: { u: 'x' } } }],
  ['quoted and bare labels', 'v "a b" c { u = 1 }', { v: { 'a b': { c: { u: 1 } } } }],
  ['labelled blocks merge under their name', 'v "a" { x = 1 }\nv "b" { y = 2 }', { v: { a: { x: 1 }, b: { y: 2 } } }],
  ['same label twice becomes a list', 'v "a" { x = 1 }\nv "a" { x = 2 }', { v: { a: [{ x: 1 }, { x: 2 }] } }],
  ['quoted block name', '"b k" { x = 1 }', { 'b k': { x: 1 } }],
  ['heredoc', 'h = <<EOF\nline 1\n  line 2\nEOF\n', { h: 'line 1\n  line 2\n' }],
  ['heredoc at end of input', 'h = <<EOF\nx\nEOF', { h: 'x\n' }],
  ['empty heredoc', 'h = <<EOF\nEOF\n', { h: '' }],
  ['heredoc keeps quotes, escapes and interpolations', 'h = <<EOF\n"q" \\n ${x}\nEOF\n', { h: '"q" \\n ${x}\n' }],
  ['heredoc closing line may be indented', 'h = <<EOF\n  x\n  EOF\n', { h: '  x\n' }],
  ['heredoc anchor text inside a line is content', 'h = <<EOF\nEOF not yet\nEOF\n', { h: 'EOF not yet\n' }],
  ['heredoc with CRLF', 'h = <<EOF\r\nx\r\nEOF\r\n', { h: 'x\r\n' }],
  ['indented heredoc strips the closing indent', 'h = <<-EOT\n    a\n      b\n    EOT\n', { h: 'a\n  b\n' }],
  ['indented heredoc with a blank line', 'h = <<-EOT\n    a\n\n    b\n    EOT\n', { h: 'a\n\nb\n' }],
  ['indented heredoc less indented line keeps all', 'h = <<-EOT\n    a\n  b\n    EOT\n', { h: '    a\n  b\n' }],
  ['indented heredoc, unindented close', 'h = <<-EOT\n  a\nEOT\n', { h: '  a\n' }],
  ['heredoc then more items', 'h = <<EOF\nx\nEOF\nn = 1', { h: 'x\n', n: 1 }],
  ['comment styles between tokens', 'a /* c */ = /* d */ 1 # e\nb = 2 // f', { a: 1, b: 2 }],
  ['hash inside a string is not a comment', 's = "a # b // c /* d */"', { s: 'a # b // c /* d */' }],
];

describe('parseConfigText: HCL', () => {
  it.each(hclCases)('%s', (_name, text, tree) => {
    expect(parseConfigText(text)).toStrictEqual(tree);
  });

  it('keeps key order', () => {
    expect(Object.keys(parseConfigText('z = 1\na = 2\nm { }'))).toEqual(['z', 'a', 'm']);
  });

  it('makes __proto__ an own key without touching prototypes', () => {
    const tree = parseConfigText('__proto__ { polluted = true }') as Record<string, unknown>;
    expect(Object.getPrototypeOf(tree)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(tree, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts nesting up to the depth limit', () => {
    const depth = DEFAULT_HCL_LIMITS.maxDepth;
    const text = `a = ${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(() => parseConfigText(text)).not.toThrow();
  });

  it('accepts input up to the size limit', () => {
    const text = `s = "${'x'.repeat(DEFAULT_HCL_LIMITS.maxBytes - 6)}"`;
    expect(Buffer.byteLength(text)).toBe(DEFAULT_HCL_LIMITS.maxBytes);
    expect((parseConfigText(text).s as string).length).toBe(DEFAULT_HCL_LIMITS.maxBytes - 6);
  });
});

const jsonCases: Array<[string, string, HclValue]> = [
  ['empty object', '{}', {}],
  ['minus zero is zero', '{"n": -0, "f": -0.0}', { n: 0, f: 0 }],
  ['leading whitespace', ' \n\t{"a": 1}', { a: 1 }],
  ['scalars', '{"s": "x", "i": -3, "f": 1.5e1, "t": true, "n": false}', { s: 'x', i: -3, f: 15, t: true, n: false }],
  ['nested', '{"o": {"l": [1, [2], {"k": "v"}]}}', { o: { l: [1, [2], { k: 'v' }] } }],
  ['escapes', String.raw`{"s": "\" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"}`, { s: '" \\ / \b \f \n \r \t é 😀' }],
  ['interpolation is plain text', '{"s": "${x}"}', { s: '${x}' }],
  ['__proto__ key', '{"__proto__": {"x": 1}}', JSON.parse('{"__proto__": {"x": 1}}')],
];

describe('parseConfigText: JSON', () => {
  it.each(jsonCases)('%s', (_name, text, tree) => {
    expect(parseConfigText(text)).toStrictEqual(tree);
  });

  it('agrees with JSON.parse on valid documents', () => {
    const doc = { a: [1, 2.5, -3e-2, 'x\n"'], b: { c: true, d: false, e: {} }, f: '\u2028 ☃' };
    const text = JSON.stringify(doc, null, 2);
    expect(parseConfigText(text)).toStrictEqual(JSON.parse(text));
  });

  it('detects JSON only by a leading "{"', () => {
    expect(detectSyntax('  {"a":1}')).toBe('json');
    expect(detectSyntax('\ufeff{}')).toBe('json');
    expect(detectSyntax('a = {}')).toBe('hcl');
    expect(detectSyntax('# {\n')).toBe('hcl');
    expect(detectSyntax('')).toBe('hcl');
  });

  it('can be forced either way', () => {
    expect(parseConfigText('{"a": 1}', { syntax: 'json' })).toStrictEqual({ a: 1 });
    expect(() => parseConfigText('{"a": 1}', { syntax: 'hcl' })).toThrow('1:1: expected a key');
  });
});

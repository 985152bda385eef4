import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The shape of the house (issue 16, STYLE.md's habits 2 and 11): layers point one way, no two files
// import each other, and every function can be read at once.

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** Lines of code a function may have (its SQL, HTML and other template text does not count: that is data). */
const MAX_FUNCTION_LINES = 80;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

const files = sourceFiles(SRC).sort();
const parsed = new Map(
  files.map((f) => [f, ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true)]),
);
const rel = (f: string): string => path.relative(ROOT, f);

/** The src/ files a file imports (static imports and re-exports, `.js` specifiers mapped to `.ts`). */
function importsOf(file: string): string[] {
  const out: string[] = [];
  for (const st of parsed.get(file)!.statements) {
    const spec =
      (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier
        ? (st.moduleSpecifier as ts.StringLiteral).text
        : undefined;
    if (spec?.startsWith('.')) out.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  return out;
}

const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Every import circle in the graph, each as the list of files around it. */
function circles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') found.push(stack.slice(stack.indexOf(g)).map(rel));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return found;
}

/** Lines of a node that are code: the lines it spans, less those inside template and string literals. */
function codeLines(node: ts.Node, sf: ts.SourceFile): number {
  const lineOf = (pos: number): number => sf.getLineAndCharacterOfPosition(pos).line;
  const dataLines = new Set<number>();
  const walk = (n: ts.Node): void => {
    if (ts.isTemplateExpression(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isStringLiteral(n)) {
      for (let l = lineOf(n.getStart(sf)) + 1; l <= lineOf(n.getEnd()); l++) dataLines.add(l);
      return;
    }
    n.forEachChild(walk);
  };
  walk(node);
  return lineOf(node.getEnd()) - lineOf(node.getStart(sf)) + 1 - dataLines.size;
}

/** Every function, method and arrow function in src/ with more than MAX_FUNCTION_LINES lines of code, as `file name()`. */
function longFunctions(): string[] {
  const long: string[] = [];
  for (const [file, sf] of parsed) {
    const walk = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body) {
        const lines = codeLines(n, sf);
        if (lines > MAX_FUNCTION_LINES) {
          const name = n.name && ts.isIdentifier(n.name) ? n.name.text : '(anonymous)';
          long.push(`${rel(file)} ${name}()`);
        }
      }
      n.forEachChild(walk);
    };
    walk(sf);
  }
  return long;
}

describe('the source tree', () => {
  it('should keep the command layer on top: nothing outside src/cli imports from it', () => {
    const cli = path.join(SRC, 'cli') + path.sep;
    // The entry scripts (src/extract.ts → dist/extract.js, ...) are the roof above the command layer.
    const isEntry = (f: string): boolean => path.dirname(f) === SRC;
    const upward = files
      .filter((f) => !f.startsWith(cli) && !isEntry(f))
      .flatMap((f) =>
        graph
          .get(f)!
          .filter((g) => g.startsWith(cli))
          .map((g) => `${rel(f)} -> ${rel(g)}`),
      );
    expect(upward).toEqual([]);
  });

  it('should have no import circle', () => {
    expect(circles()).toEqual([]);
  });

  it(`should have no function longer than ${MAX_FUNCTION_LINES} lines of code`, () => {
    const long = longFunctions();
    expect(long).toEqual([]);
  });

  it('should find a circle when there is one (the check works)', () => {
    const a = path.join(SRC, 'x', 'a.ts');
    const b = path.join(SRC, 'x', 'b.ts');
    graph.set(a, [b]);
    graph.set(b, [a]);
    files.push(a, b);
    try {
      expect(circles()).toContainEqual(['src/x/a.ts', 'src/x/b.ts']);
    } finally {
      graph.delete(a);
      graph.delete(b);
      files.splice(files.indexOf(a), 2);
    }
  });

  it('should count template text as data, not code (the length check works)', () => {
    const body = Array.from({ length: 90 }, (_, i) => `  x += ${i};`).join('\n');
    const sql = Array.from({ length: 90 }, (_, i) => `  column_${i},`).join('\n');
    const code = ts.createSourceFile('c.ts', `function f() {\n${body}\n}`, ts.ScriptTarget.Latest, true);
    const data = ts.createSourceFile(
      'd.ts',
      `function g() {\n  return \`SELECT\n${sql}\n\`;\n}`,
      ts.ScriptTarget.Latest,
      true,
    );
    expect(codeLines(code.statements[0]!, code)).toBe(92);
    expect(codeLines(data.statements[0]!, data)).toBe(3);
  });
});

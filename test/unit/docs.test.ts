import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The README is the front page: about two screens. */
const README_MAX_LINES = 120;
const ROOT = resolve(__dirname, '..', '..');
const LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/** GitHub's heading slug: lower case, punctuation dropped, spaces to '-'. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function withoutCode(markdown: string): string {
  return markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

/** The anchors of a Markdown file's headings (duplicates get -1, -2 as on GitHub). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutCode(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]!.replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links of `markdown` (in `file`) that point at no file, or at no heading of it. */
export function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const m of withoutCode(markdown).matchAll(LINK)) {
    const target = m[1]!;
    if (EXTERNAL.test(target)) continue;
    const [path, anchor] = target.split('#', 2) as [string, string | undefined];
    const targetFile = path === '' ? file : join(dirname(file), decodeURIComponent(path));
    const text = read(targetFile);
    if (text === undefined) broken.push(`${target}: no file ${targetFile}`);
    else if (anchor && targetFile.endsWith('.md') && !anchors(text).has(anchor.toLowerCase()))
      broken.push(`${target}: no heading #${anchor} in ${targetFile}`);
  }
  return broken;
}

function readFromDisk(path: string): string | undefined {
  const abs = resolve(ROOT, path);
  if (!existsSync(abs)) return undefined;
  return abs.endsWith('.md') ? readFileSync(abs, 'utf8') : '';
}

function markdownFiles(): string[] {
  const docs = existsSync(join(ROOT, 'docs'))
    ? readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md') && !f.endsWith('.draft.md'))
        .map((f) => join('docs', f))
    : [];
  return ['README.md', ...docs];
}

describe('the link checker', () => {
  const sample: Record<string, string> = {
    'README.md':
      '# eventful\n\nSee [ops](docs/ops.md#settings-and-secrets), [gone](docs/gone.md), ' +
      '[bad anchor](docs/ops.md#nope), [web](https://example.com), [self](#eventful) and `[code](x.md)`.\n',
    'docs/ops.md': '# Operations\n\n## Settings, and secrets\n\nBack to [the front](../README.md#eventful).\n',
  };
  const read = (p: string): string | undefined => sample[p];

  it('slugs headings as GitHub does', () => {
    expect(slug('Exit codes (what each does to an Airflow task)')).toBe('exit-codes-what-each-does-to-an-airflow-task');
    expect(slug('Settings, and secrets')).toBe('settings-and-secrets');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n')]).toEqual(['a', 'a-1']);
  });

  it('reports a missing file and a missing heading, and nothing else', () => {
    expect(brokenLinks('README.md', sample['README.md']!, read)).toEqual([
      'docs/gone.md: no file docs/gone.md',
      'docs/ops.md#nope: no heading #nope in docs/ops.md',
    ]);
    expect(brokenLinks('docs/ops.md', sample['docs/ops.md']!, read)).toEqual([]);
  });
});

describe('the docs', () => {
  it(`README.md has at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it.each(markdownFiles())('every relative link in %s resolves', (file) => {
    expect(brokenLinks(file, readFromDisk(file)!, readFromDisk)).toEqual([]);
  });
});

import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { generate } from '@graphql-codegen/cli';
import { beforeAll, describe, expect, it } from 'vitest';
import config from '../../codegen.js';
import { docPages } from '../support/doc-files.js';

const root = path.resolve(import.meta.dirname, '../..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Runs tsc on a tsconfig; resolves with its exit code and the `file(line,col): error TSnnnn` lines. */
async function typecheck(project: string): Promise<{ code: number; errors: Array<{ file: string; line: number; code: string }> }> {
  const { code, stdout } = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', project], { cwd: root }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  const errors = [...stdout.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+)/gm)].map(([, file, line, tsCode]) => ({
    file: file!,
    line: Number(line),
    code: tsCode!,
  }));
  return { code, errors };
}

/**
 * One tsc run over the examples shown in the docs and the deliberately wrong fixture
 * (test/fixtures/typed-client/tsconfig.json), shared by the tests below.
 */
let fixtureCheck: ReturnType<typeof typecheck> | undefined;
const checkFixtures = () => (fixtureCheck ??= typecheck('test/fixtures/typed-client/tsconfig.json'));
const fixture = 'test/fixtures/typed-client/wrong-usage.ts';

describe('client: generated code', () => {
  // Started at once so the compiler runs while the codegen test does.
  beforeAll(() => void checkFixtures());

  it('should match what `npm run codegen` generates from the schema and operations', async () => {
    const outputs: Array<{ filename: string; content: string }> = await generate({ ...config, cwd: root, silent: true }, false);
    const generatedDir = path.join(root, 'client/generated');
    const expected = Object.fromEntries(outputs.map((o) => [path.relative(generatedDir, path.resolve(root, o.filename)), o.content]));
    const committed = Object.fromEntries(readdirSync(generatedDir).map((f) => [f, readFileSync(path.join(generatedDir, f), 'utf8')]));
    // When this fails: run `npm run codegen` and commit client/generated.
    expect(Object.keys(committed).sort()).toEqual(Object.keys(expected).sort());
    for (const [file, content] of Object.entries(expected)) expect(committed[file], `client/generated/${file} is stale`).toBe(content);
  });

  it('should type-check the examples the docs show', async () => {
    const { errors } = await checkFixtures();
    expect(errors.filter((e) => e.file !== fixture)).toEqual([]);
  }, 60_000); // one tsc run: ~10 s alone, slower when test files run in parallel

  it('should show in the docs exactly the example files', () => {
    const doc = docPages().map((page) => page.text).join('\n');
    const snippets = [...doc.matchAll(/```tsx?\n(.*?)```/gs)].map(([, code]) => code);
    for (const file of ['client/examples/react-example.tsx', 'client/examples/node-bot.ts']) {
      const source = readFileSync(path.join(root, file), 'utf8');
      expect(snippets, file).toContain(source.slice(source.indexOf('import ')));
    }
  });

  it('should reject wrong uses of the typed documents at compile time, exactly where they are', async () => {
    const marked = readFileSync(path.join(root, fixture), 'utf8')
      .split('\n')
      .flatMap((text, i) => {
        const code = /\/\/ ✗ (TS\d+)$/.exec(text)?.[1];
        return code ? [{ file: fixture, line: i + 1, code }] : [];
      });
    expect(marked.length).toBeGreaterThanOrEqual(5);
    const result = await checkFixtures();
    expect(result.code).not.toBe(0);
    expect(result.errors).toEqual(marked);
  });
});

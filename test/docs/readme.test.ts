/**
 * Docs that never lie: every GraphQL block of every doc page (README.md,
 * docs/*.md, CONTRIBUTING.md, client/README.md) is validated against
 * `schema.graphql`, and every `npm run` line they show names a real script and,
 * for the commands that take flags, is run with `--help` appended (each CLI
 * parses its flags first, so a flag a page shows but the command does not
 * know fails here). Before that, each line must name a script of package.json.
 * Every relative link must reach an existing file and heading.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildSchema, isInterfaceType, Kind, parse, validate } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { ErrorCode } from '../../server/errors.js';
import { slowConsumerCloseCode } from '../../server/transport/ws.js';
import { describe, expect, it } from 'vitest';
import { docPages, pageWithHeading, repositoryRoot } from '../support/doc-files.js';

const run = promisify(execFile);
const root = repositoryRoot;
const pages = docPages();
const schema = buildSchema(readFileSync(new URL('schema.graphql', root), 'utf8'));
const scripts = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Fenced code blocks (also indented ones inside lists), with the page and line they start on. */
const blocks = pages.flatMap((page) =>
  [...page.text.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```/gm)].map((match) => ({
    language: match[2]!,
    code: match[3]!.replace(new RegExp(`^${match[1]}`, 'gm'), ''),
    at: `${page.path}:${page.text.slice(0, match.index).split('\n').length}`,
  })),
);

const graphqlBlocks = blocks.filter((block) => block.language === 'graphql');

/** Every `npm run …` command the pages show, in code blocks or inline code, up to a shell separator or comment. */
const npmRunLines = [
  ...new Set(
    [...pages.map((page) => page.text).join('\n').replace(/<!--[\s\S]*?-->/g, '').matchAll(/npm run(?: -s)? [^`\n|)#;&]+/g)].map((match) => match[0].trim().replace(/\s+/g, ' ')),
  ),
];

/**
 * Scripts run with `--help`: each parses its flags and prints its usage.
 * `token` runs through `scripts/run-built.mjs`, which would build `dist/`
 * first; the test runs its source directly (the same program).
 */
const helpCommand: Record<string, string[]> = {
  token: ['npx', 'tsx', 'server/token.ts'],
  'bot:market-maker': ['npx', 'tsx', 'client/bots/market-maker.ts'],
  'bot:relay': ['npx', 'tsx', 'client/bots/relay.ts'],
  'bot:telegram': ['npx', 'tsx', 'client/bots/telegram/main.ts'],
  ticker: ['npx', 'tsx', 'client/bots/ticker.ts'],
  bench: ['npx', 'tsx', 'bench/run.ts'],
  'docs:config': ['npx', 'tsx', 'scripts/config-docs.ts'],
};

/** Placeholders in doc lines (`…`, `<date>`) stand for any value: their lines are checked for the script only. */
const hasPlaceholder = (line: string) => /…|<[^>]+>|\[--/.test(line);

describe('docs (README.md, docs/, CONTRIBUTING.md, client/README.md)', () => {
  it('should contain GraphQL examples', () => {
    expect(graphqlBlocks.length).toBeGreaterThan(10);
  });

  it.each(graphqlBlocks.map((block) => [block.at, block.code] as const))('should have a valid GraphQL block at %s', (_line, code) => {
    const document = parse(code);
    const typeDefinitions = document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION);
    expect(typeDefinitions.map((d) => d.kind)).toEqual([]);
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
  });

  it('should only show npm scripts that exist', () => {
    const missing = npmRunLines.map((line) => /^npm run(?: -s)? ([\w:-]+)/.exec(line)![1]!).filter((name) => !(name in scripts));
    expect(missing).toEqual([]);
  });

  it.each(npmRunLines.filter((line) => /^npm run(?: -s)? ([\w:-]+)/.exec(line)![1]! in helpCommand && !hasPlaceholder(line)))(
    'should accept `%s` (run with --help)',
    async (line) => {
      const [, name = '', rest = ''] = /^npm run(?: -s)? ([\w:-]+)(?: -- (.*))?$/.exec(line) ?? [];
      const [command, ...args] = helpCommand[name]!;
      const flags = rest.split(' ').filter(Boolean);
      // Exits 0 (run() rejects otherwise) after printing its usage.
      const { stdout, stderr } = await run(command!, [...args, ...flags, '--help'], { cwd: root, env: { ...process.env, NODE_ENV: '' } });
      expect(`${stdout}${stderr}`).toMatch(/--\w+/);
    },
    60_000,
  );

  /** The first column of the table under `heading` (a markdown heading line, on whichever page holds it), backticks removed. */
  const tableAfter = (heading: string) => {
    const text = pageWithHeading(heading).text;
    const start = text.indexOf(`\n${heading}\n`);
    expect(start, heading).toBeGreaterThan(0);
    const rows = text.slice(start).split('\n').filter((line, i, lines) => line.startsWith('|') && lines.slice(0, i).some((l) => l.startsWith('| ---')));
    const table: string[] = [];
    for (const row of rows) {
      table.push(row.split('|')[1]!.trim().replaceAll('`', ''));
      if (!text.slice(start).includes(`${row}\n|`)) break; // the first table ends here
    }
    return table;
  };

  it('should list every game event type of the schema', () => {
    const gameEvent = schema.getType('GameEvent');
    expect(isInterfaceType(gameEvent)).toBe(true);
    const types = schema.getPossibleTypes(gameEvent as never).map((type) => type.name);
    expect(tableAfter('## Game event types').sort()).toEqual(types.sort());
  });

  it('should list every world event kind the server posts', () => {
    const domain = new URL('server/domain/', root);
    const posted = new Set<string>();
    for (const file of readdirSync(domain).filter((name) => name.endsWith('.ts'))) {
      for (const line of readFileSync(new URL(file, domain), 'utf8').split('\n').filter((l) => /\bkind(Input)?\b/.test(l))) {
        // The quoted values on those lines, not the argument name itself (`badInput('kind', …)`).
        for (const [, kind] of line.matchAll(/'([a-z][a-z.]*)'/g)) if (kind !== 'kind') posted.add(kind!);
      }
    }
    expect(posted.size).toBeGreaterThan(4);
    expect(tableAfter('## World event kinds').sort()).toEqual([...posted].sort());
  });

  it('should list every error code of the catalogue', () => {
    expect(tableAfter('## Error codes').sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it("should list every close code the server sends, and only graphql-ws' codes besides 1001, 1009 and 1013", () => {
    const documented = tableAfter('## Close codes').map(Number);
    // 1009: a message over WS_MAX_PAYLOAD (ws); 1013: a slow consumer (server/transport/ws.ts).
    const webSocketCodes = [1001, 1009, slowConsumerCloseCode];
    const serverCodes = [...webSocketCodes.slice(1), CloseCode.BadRequest, CloseCode.Unauthorized, CloseCode.Forbidden, CloseCode.SubprotocolNotAcceptable, CloseCode.ConnectionInitialisationTimeout, CloseCode.SubscriberAlreadyExists, CloseCode.TooManyInitialisationRequests, CloseCode.InternalServerError];
    expect(documented).toEqual(expect.arrayContaining([1001, ...serverCodes]));
    for (const code of documented) expect([...webSocketCodes, ...(Object.values(CloseCode) as number[])]).toContain(code);
  });

  it('should name only files and folders that exist', () => {
    // Backticked repository paths (`client/examples/node-bot.ts`, `deploy/nginx.conf`…).
    const paths = [...pages.map((page) => page.text).join('\n').matchAll(/`((?:[\w.-]+\/)+[\w.-]*)`/g)].map((match) => match[1]!).filter((p) => /^(server|client|test|scripts|deploy|bench|\.ci)\//.test(p) && !p.includes('…'));
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((p) => !existsSync(new URL(p, root)))).toEqual([]);
  });
  it('should link only to files and headings that exist', () => {
    const broken = pages.flatMap((page) =>
      linksOf(page.text).flatMap((link) => {
        const problem = brokenLink(page.path, link);
        return problem ? [`${page.path}: (${link}) ${problem}`] : [];
      }),
    );
    expect(broken).toEqual([]);
  });

  it('should link from the client README only to files its npm package ships', () => {
    const shipped = ['README.md', 'package.json', ...(JSON.parse(readFileSync(new URL('client/package.json', root), 'utf8')) as { files: string[] }).files];
    const outside = linksOf(pages.find((page) => page.path === 'client/README.md')!.text)
      .map((link) => link.split('#')[0]!)
      .filter((target) => target && !/^[a-z]+:/.test(target))
      .filter((target) => !shipped.some((entry) => path.posix.normalize(target) === entry || path.posix.normalize(target).startsWith(`${entry}/`)));
    expect(outside).toEqual([]);
  });
});

/** The targets of the markdown links of a page, outside code blocks and inline code. */
function linksOf(text: string): string[] {
  const prose = text.replace(/^( *)```[\s\S]*?^\1```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

/** GitHub's anchors of a page's headings (lower case, punctuation dropped, spaces to dashes, repeats numbered). */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of text.replace(/^( *)```[\s\S]*?^\1```/gm, '').matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count ? `${slug}-${count}` : slug);
  }
  return anchors;
}

/** Why a relative link of the page at `from` does not resolve, or undefined when it does (web links are not followed). */
function brokenLink(from: string, link: string): string | undefined {
  if (/^[a-z]+:/.test(link)) return undefined;
  const [target = '', anchor] = link.split('#');
  const file = target ? path.posix.join(path.posix.dirname(from), target) : from;
  if (file.startsWith('..')) return 'leaves the repository';
  if (!existsSync(new URL(file, root))) return 'no such file';
  if (anchor === undefined || !file.endsWith('.md')) return undefined;
  return anchorsOf(readFileSync(new URL(file, root), 'utf8')).has(anchor) ? undefined : `no heading #${anchor} in ${file}`;
}

import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };

describe('install on the Node the README names', () => {
  it('should name the same minimum Node in package.json and the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const minimum = semver.minVersion(pkg.engines.node)!.version;
    expect(readme).toContain(`Node ${minimum.replace(/\.0$/, '')} or newer`);
  });

  it('should lock no package whose engines exclude that Node (npm ci would print EBADENGINE)', () => {
    const minimum = semver.minVersion(pkg.engines.node)!.version;
    const excluding = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, info]) => {
        const range = !Array.isArray(info.engines) ? info.engines?.node : undefined;
        return range && !(semver.satisfies(minimum, range) && semver.satisfies(process.version, range)) ? [`${path}@${info.version}: node ${range}`] : [];
      });
    // A new one: pin a version that supports this Node (package.json "overrides"), then `npm install`.
    expect(excluding).toEqual([]);
  });
});

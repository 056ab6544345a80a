/**
 * One server under test, in its own process (started by `bench/run.ts`,
 * pinned to one core, with `--expose-gc`). Argument: the {@link ServerOptions}
 * as JSON. Publishing runs inside this process, so it pays for its own
 * publish path exactly as in production.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { serveParent } from './ipc.js';
import type { ServerCommands, ServerKind, ServerOptions } from './protocol.js';
import { startRawWs } from './servers/raw-ws.js';
import { startRealmcast } from './servers/realmcast.js';
import type { Target } from './servers/target.js';
import { startYoga } from './servers/yoga.js';

const starters: Record<ServerKind, (options: ServerOptions) => Promise<Target>> = {
  ws: startRawWs,
  yoga: startYoga,
  realmcast: startRealmcast,
};

const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions;
const target = await starters[options.kind](options);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('bench servers need --expose-gc');

const sleepUntil = (time: number) => (time > Date.now() ? sleep(time - Date.now()) : undefined);

serveParent<ServerCommands>(
  {
    heap() {
      gc();
      gc();
      return { heapUsed: process.memoryUsage().heapUsed };
    },
    async warmup() {
      await target.warmup();
      return null;
    },
    async publish({ t0, rate, count }) {
      await sleepUntil(t0);
      const before = await target.count();
      let failed = 0;
      let firstError: string | undefined;
      for (let i = 0; i < count; i++) {
        await sleepUntil(t0 + (i * 1_000) / rate);
        try {
          await target.publish();
        } catch (error) {
          failed++;
          firstError ??= String(error);
        }
      }
      const t1 = Date.now();
      const after = await target.count();
      const published = Object.fromEntries(Object.entries(after).map(([key, n]) => [key, n - (before[key] ?? 0)]));
      return { t1, published, failed, firstError };
    },
    cpu() {
      const { user, system } = process.cpuUsage();
      return { cpuMicros: user + system };
    },
    async dispose() {
      await target.dispose();
      setImmediate(() => process.exit(0));
      return null;
    },
  },
  target.info,
);

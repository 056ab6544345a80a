/**
 * Request/response over Node's IPC channel between the bench orchestrator
 * and its child processes (servers, load generator). One typed command map
 * per child kind; every child process exits when its parent goes away, so a
 * killed or crashed orchestrator never leaves servers running.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (children run there, so `--import tsx` resolves). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A child's commands: each name maps to its request and its response. */
export type Commands<C> = { [K in keyof C]: { request: object; response: unknown } };

export type Handlers<C extends Commands<C>> = {
  [K in keyof C]: (request: C[K]['request']) => Promise<C[K]['response']> | C[K]['response'];
};

interface Call {
  id: number;
  type: string;
  request: object;
}

type Reply = { id: number; ok: true; response: unknown } | { id: number; ok: false; error: string } | { ready: true; info: unknown };

/**
 * Child side: answers the parent's calls with `handlers`, then reports ready
 * with `info`. The process exits as soon as the parent disconnects.
 */
export function serveParent<C extends Commands<C>>(handlers: Handlers<C>, info: unknown = null): void {
  if (!process.send) throw new Error('bench children must be started by bench/run.ts (no IPC channel)');
  const send = (reply: Reply) => process.send!(reply);
  process.on('message', (message: Call) => {
    const handler = handlers[message.type as keyof C];
    if (!handler) return send({ id: message.id, ok: false, error: `unknown command ${message.type}` });
    Promise.resolve()
      .then(() => handler(message.request as C[keyof C]['request']))
      .then(
        (response) => send({ id: message.id, ok: true, response }),
        (error: unknown) => send({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // An orphaned server or load generator would skew every later run on the machine.
  process.on('disconnect', () => process.exit(0));
  send({ ready: true, info });
}

/** Parent side: one running child. */
export interface Peer<C extends Commands<C>> {
  readonly name: string;
  readonly pid: number;
  /** What the child reported when it became ready. */
  readonly info: unknown;
  call<K extends keyof C & string>(type: K, request: C[K]['request'], timeoutMs?: number): Promise<C[K]['response']>;
  /** Disconnects, then kills the child if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Every child started and not yet stopped, killed by {@link killAllPeers}. */
const running = new Set<ChildProcess>();

/** Kills every child still running (exit, Ctrl-C, error). Synchronous, so it works in an `exit` handler. */
export function killAllPeers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

let tasksetAvailable: boolean | undefined;

/**
 * The command prefix that pins a process to `cpu`, when the machine has
 * `taskset` and more than one core; empty otherwise.
 */
export function pinning(cpu: number | undefined): string[] {
  if (cpu === undefined || availableParallelism() < 2) return [];
  tasksetAvailable ??= spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
  return tasksetAvailable ? ['taskset', '-c', String(cpu)] : [];
}

export interface SpawnOptions {
  /** Core to pin the child to (see {@link pinning}). @default undefined (not pinned) */
  cpu?: number;
  /** Extra `node` flags, e.g. `--expose-gc`. @default [] */
  nodeFlags?: string[];
  /** How long the child may take to report ready. @default 60_000 // 1 minute */
  readyTimeoutMs?: number;
}

/** Starts `node --import tsx <script> ...args` (pinned when asked) and waits until it reports ready. */
export async function spawnPeer<C extends Commands<C>>(name: string, script: string, args: string[], options: SpawnOptions = {}): Promise<Peer<C>> {
  const { cpu, nodeFlags = [], readyTimeoutMs = 60_000 } = options;
  const command = [...pinning(cpu), process.execPath, ...nodeFlags, '--import', 'tsx', path.join(repoRoot, script), ...args];
  const child = spawn(command[0]!, command.slice(1), { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  running.add(child);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      for (const { reject } of pending.values()) reject(new Error(`${name} exited (${signal ?? code}) during a call`));
      pending.clear();
      resolve();
    }),
  );
  const info = await new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready`));
    });
    child.on('message', (reply: Reply) => {
      if ('ready' in reply) {
        clearTimeout(timer);
        resolve(reply.info);
        return;
      }
      const call = pending.get(reply.id);
      if (!call) return;
      pending.delete(reply.id);
      if (reply.ok) call.resolve(reply.response);
      else call.reject(new Error(`${name}: ${reply.error}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  return {
    name,
    pid: child.pid!,
    info,
    call(type, request, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        if (!child.connected) return reject(new Error(`${name} is not running`));
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: ${type} did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as never);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, type, request } satisfies Call);
      });
    },
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

import type { RealmPubSub } from './events/pubsub.js';
import type { Store } from './store/store.js';
import { withTimeout } from './timeout.js';

/** How long `/ready` waits for each dependency. @default 2_000 // 2 seconds */
const dependencyTimeoutMs = 2_000;

/**
 * The `/ready` check (Yoga's `useReadinessCheck`): 200 while the store and
 * the pub/sub broker both answer, else 503 with a plain-text body naming what
 * is unreachable (never the underlying error). Recovers by itself: each
 * request checks again.
 */
export function readinessCheck(deps: { store: Store; pubsub: RealmPubSub }) {
  const answers = (check: Promise<void>, problem: string) =>
    withTimeout(check, dependencyTimeoutMs, () => new Error('timed out')).then(
      () => null,
      () => problem,
    );
  return async ({ fetchAPI }: { fetchAPI: { Response: typeof Response } }): Promise<Response | true> => {
    const failures = await Promise.all([
      answers(deps.store.ping(), 'store unreachable'),
      answers(deps.pubsub.ping(), 'pub/sub unreachable'),
    ]);
    const problems = failures.filter(Boolean);
    return problems.length ? new fetchAPI.Response(`not ready: ${problems.join(', ')}`, { status: 503 }) : true;
  };
}

import { describe, expect, it } from 'vitest';
import { errorCode, gql, listening, startServer, subscribe, wsClient } from '../support/harness.js';

const shift = 'mutation ($id: ID!, $delta: Float!, $reason: String!) { shiftFactionInfluence(factionId: $id, delta: $delta, reason: $reason) { id influence lastChange } }';

describe('factions', () => {
  it('should list factions, most influential first', async () => {
    const app = await startServer();
    const { factions } = (await gql(app.url, '{ factions { id name influence lastChange } }')).data!;
    expect(factions.map((f: { id: string }) => f.id)).toEqual(['crown', 'guild', 'flame', 'free']);
  });

  it('should shift influence, clamp it to 0–100 and publish the applied delta', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const changes = subscribe(wsClient(app.url), 'subscription { factionInfluenceChanged { cursor faction { id influence lastChange } delta reason at } }');
    await listening(app, 'streamEvent', 'factions');
    expect((await gql(app.url, shift, { id: 'free', delta: -25, reason: 'Mercenaries disband' }, gm)).data).toEqual({
      shiftFactionInfluence: { id: 'free', influence: 0, lastChange: -10 },
    });
    expect(await changes.next()).toEqual({
      factionInfluenceChanged: {
        cursor: expect.any(String),
        faction: { id: 'free', influence: 0, lastChange: -10 },
        delta: -10,
        reason: 'Mercenaries disband',
        at: expect.any(String),
      },
    });
  });

  it('should record nothing when a clamped shift moves nothing', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    await gql(app.url, shift, { id: 'free', delta: -25, reason: 'Disband' }, gm);
    const again = await gql(app.url, shift, { id: 'free', delta: -5, reason: 'Disband more' }, gm);
    expect(again.data).toEqual({ shiftFactionInfluence: { id: 'free', influence: 0, lastChange: -10 } });
    expect(await app.services.events.head('factions')).toBe(1);
  });

  it('should post a world event for a big shift', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const feed = subscribe(wsClient(app.url), 'subscription { worldEvents(kinds: ["faction.shift"]) { kind message severity } }');
    await listening(app, 'streamEvent', 'world');
    await gql(app.url, shift, { id: 'guild', delta: 12, reason: 'Harvest fair' }, gm);
    expect(await feed.next()).toEqual({ worldEvents: { kind: 'faction.shift', message: 'Merchant Guild gains 12 influence: Harvest fair', severity: 'WARNING' } });
  });

  it.each([
    ['an unknown faction', { id: 'nope', delta: 1, reason: 'x' }, 'NOT_FOUND', 'factionId'],
    ['a zero delta', { id: 'crown', delta: 0, reason: 'x' }, 'BAD_USER_INPUT', 'delta'],
    ['a delta beyond ±100', { id: 'crown', delta: 101, reason: 'x' }, 'BAD_USER_INPUT', 'delta'],
    ['an empty reason', { id: 'crown', delta: 1, reason: ' ' }, 'BAD_USER_INPUT', 'reason'],
  ])('should reject %s and change nothing', async (_label, variables, code, field) => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const before = (await gql(app.url, '{ factions { id influence lastChange } }')).data;
    const result = await gql(app.url, shift, variables, gm);
    expect(errorCode(result)).toBe(code);
    expect(result.errors![0]!.extensions!.field).toBe(field);
    expect((await gql(app.url, '{ factions { id influence lastChange } }')).data).toEqual(before);
  });

  it('should refuse shifts from players', async () => {
    const app = await startServer();
    const player = await app.token();
    expect(errorCode(await gql(app.url, shift, { id: 'crown', delta: 1, reason: 'x' }, player))).toBe('FORBIDDEN');
  });
});

describe('world events', () => {
  it('should announce, list newest first and deliver only the wanted kinds', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const alerts = subscribe(wsClient(app.url), 'subscription { worldEvents(kinds: ["alert"]) { id kind message severity } }');
    await listening(app, 'streamEvent', 'world');
    const announce = 'mutation ($m: String!, $k: String, $s: Severity) { announceWorldEvent(message: $m, kind: $k, severity: $s) { id cursor kind message severity at } }';
    const plain = await gql(app.url, announce, { m: 'Tavern reopens' }, gm);
    expect(plain.data!.announceWorldEvent).toMatchObject({ kind: 'announcement', severity: 'INFO', message: 'Tavern reopens' });
    await gql(app.url, announce, { m: 'Dragon sighted', k: 'alert', s: 'CRITICAL' }, gm);
    expect(await alerts.next()).toEqual({ worldEvents: { id: expect.any(String), kind: 'alert', message: 'Dragon sighted', severity: 'CRITICAL' } });
    const { worldEvents } = (await gql(app.url, '{ worldEvents(last: 2) { message } }')).data!;
    expect(worldEvents).toEqual([{ message: 'Dragon sighted' }, { message: 'Tavern reopens' }]);
  });

  it.each([
    ['an empty message', { m: '' }, 'message'],
    ['a message over 500 characters', { m: 'x'.repeat(501) }, 'message'],
    ['a malformed kind', { m: 'ok', k: 'Not A Kind' }, 'kind'],
  ])('should reject %s and post nothing', async (_label, variables, field) => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const result = await gql(app.url, 'mutation ($m: String!, $k: String) { announceWorldEvent(message: $m, kind: $k) { id } }', variables, gm);
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.extensions!.field).toBe(field);
    expect((await gql(app.url, '{ worldEvents { kind } }')).data).toEqual({ worldEvents: [{ kind: 'welcome' }] });
  });

  it('should reject worldEvents(last:) outside 1–200', async () => {
    const app = await startServer();
    expect(errorCode(await gql(app.url, '{ worldEvents(last: 0) { id } }'))).toBe('BAD_USER_INPUT');
  });
});

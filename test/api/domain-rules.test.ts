/**
 * The plain-TypeScript rules of `server/domain/` in-process, on their edges:
 * validation bounds and messages, money rounding, price changes, the random
 * walk, turn tallies, the scenario draw and join codes.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { normalizeCode } from '../../server/domain/game-rows.js';
import { joinCodeAlphabet, joinCodeLength, newJoinCode } from '../../server/domain/games.js';
import { randomWalkStep, stockChange } from '../../server/domain/market.js';
import { drawScenario, scenarioDeck, scenarioRef } from '../../server/domain/scenarios.js';
import { ditheringOutcome, tallyTurn } from '../../server/domain/turns.js';
import { fromCents, roundMoney, toCents, validInt, validList, validName, validNumber, validStrategy, validText } from '../../server/domain/validate.js';

/** The error `fn` throws: a BAD_USER_INPUT naming `field`, with its message. */
function refusal(fn: () => unknown): { field: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    const { extensions, message } = error as GraphQLError;
    expect(extensions.code).toBe('BAD_USER_INPUT');
    return { field: extensions.field, message };
  }
  throw new Error('expected a refusal');
}

describe('validation', () => {
  it('should trim names and accept 1 to 40 characters, naming the field otherwise', () => {
    expect(validName('name', '  Ada  ')).toBe('Ada');
    expect(validName('name', 'x')).toBe('x');
    expect(validName('name', 'x'.repeat(40))).toBe('x'.repeat(40));
    expect(validName('name', ` ${'x'.repeat(40)} `)).toBe('x'.repeat(40));
    for (const bad of ['', '   ', 'x'.repeat(41)]) expect(refusal(() => validName('name', bad))).toEqual({ field: 'name', message: '"name" must be 1–40 characters.' });
  });

  it('should accept integers within [min, max] only', () => {
    expect(validInt('last', 1, 1, 5)).toBe(1);
    expect(validInt('last', 5, 1, 5)).toBe(5);
    for (const bad of [0, 6, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusal(() => validInt('last', bad, 1, 5))).toEqual({ field: 'last', message: '"last" must be an integer from 1 to 5.' });
    }
  });

  it('should accept finite numbers within [min, max] only', () => {
    expect(validNumber('price', 0.01, 0.01, 10)).toBe(0.01);
    expect(validNumber('price', 10, 0.01, 10)).toBe(10);
    expect(validNumber('price', 2.5, 0.01, 10)).toBe(2.5);
    for (const bad of [0, 10.001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(refusal(() => validNumber('price', bad, 0.01, 10))).toEqual({ field: 'price', message: '"price" must be a finite number from 0.01 to 10.' });
    }
  });

  it('should trim texts and accept 1 to max characters', () => {
    expect(validText('message', ' hi ', 3)).toBe('hi');
    expect(validText('message', 'abc', 3)).toBe('abc');
    for (const bad of ['', '  ', 'abcd']) expect(refusal(() => validText('message', bad, 3))).toEqual({ field: 'message', message: '"message" must be 1–3 characters.' });
  });

  it('should count code points after NFC, refuse control, bidi and invisible characters by code point, and keep text exactly', () => {
    expect(validText('message', 'e\u0301te', 3)).toBe('\u00e9te'); // NFC: é is one character
    expect(validText('message', '😀😀😀', 3)).toBe('😀😀😀');
    expect(refusal(() => validText('message', '😀😀😀😀', 3)).message).toBe('"message" must be 1–3 characters.');
    expect(validText('message', 'ab', 3, 2)).toBe('ab');
    expect(refusal(() => validText('message', 'a', 3, 2)).message).toBe('"message" must be 2–3 characters.');
    for (const [bad, code] of [['a\u0007b', 'U+0007'], ['a\u202Eb', 'U+202E'], ['a\u200Bb', 'U+200B'], ['a\u2028b', 'U+2028'], ['a\u2029b', 'U+2029'], ['a\uFEFFb', 'U+FEFF']] as const) {
      expect(refusal(() => validText('message', bad, 10))).toEqual({
        field: 'message',
        message: `"message" must not contain control, bidi-control or invisible characters (found ${code}).`,
      });
    }
  });

  it('should accept lists of up to max entries', () => {
    expect(validList('kinds', ['a', 'b'], 2)).toEqual(['a', 'b']);
    expect(validList('kinds', [], 2)).toEqual([]);
    expect(refusal(() => validList('kinds', ['a', 'b', 'c'], 2))).toEqual({ field: 'kinds', message: '"kinds" may list at most 2 entries.' });
  });

  it('should accept strategy names of 1 to 40 letters, digits, spaces, "_", "." and "-"', () => {
    expect(validStrategy('  dip buyer_v1.2-b  ')).toBe('dip buyer_v1.2-b');
    expect(validStrategy('x'.repeat(40))).toBe('x'.repeat(40));
    for (const bad of ['', '   ', 'x'.repeat(41), 'émigré', 'a/b', 'a\nb']) {
      expect(refusal(() => validStrategy(bad))).toEqual({ field: 'strategy', message: '"strategy" must be 1–40 characters of letters, digits, spaces, "_", "." or "-".' });
    }
  });

  it('should round money to cents and convert cents exactly', () => {
    expect(roundMoney(0.1 + 0.2)).toBe(0.3);
    expect(roundMoney(1.005 * 1000)).toBe(1005);
    expect(roundMoney(2.675)).toBe(2.68);
    expect(roundMoney(-1.234)).toBe(-1.23);
    expect(toCents(19.99)).toBe(1999);
    expect(toCents(0.29)).toBe(29);
    expect(fromCents(1999)).toBe(19.99);
    expect(fromCents(toCents(1234.56))).toBe(1234.56);
  });
});

describe('market', () => {
  it('should give the change since the open in money and in percent, to two decimals', () => {
    expect(stockChange({ price: 110, openPrice: 100 })).toEqual({ change: 10, changePercent: 10 });
    expect(stockChange({ price: 50.25, openPrice: 42.5 })).toEqual({ change: 7.75, changePercent: 18.24 });
    expect(stockChange({ price: 90, openPrice: 120 })).toEqual({ change: -30, changePercent: -25 });
    expect(stockChange({ price: 42.5, openPrice: 42.5 })).toEqual({ change: 0, changePercent: 0 });
  });

  it('should take a random-walk step of about 1 % per standard deviation, pulled back towards the open price', () => {
    // random() = 0.25 twice: the Gaussian factor is √(−2 ln 0.75)·cos(π/2) = 0, so only the pull acts.
    const still = () => 0.25;
    expect(randomWalkStep({ price: 100, openPrice: 100 }, still)).toBeCloseTo(100, 10);
    const above = randomWalkStep({ price: 200, openPrice: 100 }, still);
    expect(above).toBeLessThan(200);
    expect(above).toBeCloseTo(200 * Math.exp(0.002 * Math.log(0.5)), 10);
    expect(randomWalkStep({ price: 50, openPrice: 100 }, still)).toBeCloseTo(50 * Math.exp(0.002 * Math.log(2)), 10);
    // random() = 0.5 then 0: a Gaussian of √(2 ln 2) ≈ 1.1774: one step up by that many percent.
    const draws = [0.5, 0];
    const up = randomWalkStep({ price: 100, openPrice: 100 }, () => draws.shift()!);
    expect(up).toBeCloseTo(100 * Math.exp(0.01 * Math.sqrt(2 * Math.LN2)), 10);
    const down = [0.5, 0.5];
    expect(randomWalkStep({ price: 100, openPrice: 100 }, () => down.shift()!)).toBeCloseTo(100 * Math.exp(-0.01 * Math.sqrt(2 * Math.LN2)), 10);
  });
});

describe('turns', () => {
  const scenario = scenarioDeck[0]!;
  const [first, second, third] = scenario.choices;

  it('should pick the majority, break ties by scenario order, and dither with no votes', () => {
    expect(tallyTurn(scenario, [second!.id, second!.id, first!.id])).toMatchObject({ choice: second, outcome: second!.outcome });
    expect(tallyTurn(scenario, [second!.id, first!.id]).choice).toBe(first);
    expect(tallyTurn(scenario, [second!.id]).choice).toBe(second);
    expect(tallyTurn(scenario, ['not-a-choice'])).toMatchObject({ choice: null, outcome: ditheringOutcome });
    expect(tallyTurn(scenario, [])).toEqual({ choice: null, outcome: ditheringOutcome, votes: scenario.choices.map((c) => ({ choiceId: c.id, count: 0 })) });
    if (third) expect(tallyTurn(scenario, [third.id, third.id, second!.id, first!.id]).choice).toBe(third);
  });

  it('should count every vote per choice, in scenario order', () => {
    const { votes } = tallyTurn(scenario, [second!.id, first!.id, second!.id]);
    expect(votes).toEqual(scenario.choices.map((c) => ({ choiceId: c.id, count: c.id === second!.id ? 2 : c.id === first!.id ? 1 : 0 })));
  });

  it('should draw the same scenario for the same game and turn everywhere, spread over the deck', () => {
    // FNV-1a of "ABC234:1", by hand.
    let hash = 0x811c9dc5;
    for (const char of 'ABC234:1') hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    expect(drawScenario('ABC234', 1)).toBe(scenarioDeck[hash % scenarioDeck.length]);
    expect(new Set(Array.from({ length: 60 }, (_, turn) => drawScenario('QWERTY', turn + 1).id)).size).toBe(scenarioDeck.length);
  });

  it('should carry a scenario in events without its effects', () => {
    expect(scenarioRef(scenario)).toEqual({
      id: scenario.id,
      theme: scenario.theme,
      prompt: scenario.prompt,
      choices: scenario.choices.map((c) => ({ id: c.id, label: c.label })),
    });
  });

  it('should never reuse an id in the deck (stored events refer to them)', () => {
    const ids = scenarioDeck.flatMap((s) => [s.id, ...s.choices.map((c) => c.id)]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('join codes', () => {
  it('should make codes of 6 unambiguous characters from the random source', () => {
    expect(joinCodeLength).toBe(6);
    expect(joinCodeAlphabet).not.toMatch(/[01IOL]/);
    expect(newJoinCode(() => 0)).toBe(joinCodeAlphabet[0]!.repeat(6));
    const picks = [1, 2, 3, 4, 5, joinCodeAlphabet.length - 1];
    expect(newJoinCode(() => picks.shift()!)).toBe([1, 2, 3, 4, 5, joinCodeAlphabet.length - 1].map((i) => joinCodeAlphabet[i]).join(''));
    const seen: number[] = [];
    newJoinCode((max) => (seen.push(max), 0));
    expect(seen).toEqual(Array(6).fill(joinCodeAlphabet.length));
    expect(newJoinCode()).toMatch(new RegExp(`^[${joinCodeAlphabet}]{6}$`));
  });

  it('should normalize codes to trimmed upper case', () => {
    expect(normalizeCode('  k7m2qp ')).toBe('K7M2QP');
    expect(normalizeCode('ABC234')).toBe('ABC234');
  });
});
